"""kume's settings (``kume.settings``): the paths derived from the data and output folders, the
database URLs with their defaults, ``KUME_*`` variables, and settings put in force for a block."""

from __future__ import annotations

import contextvars
import threading
from pathlib import Path

import pytest

from kume.settings import PROJECT_ROOT, Settings, current_settings, use_settings

KUME_VARIABLES = [f"KUME_{name.upper()}" for name in Settings.model_fields]


@pytest.fixture
def clean_environment(monkeypatch):
    """No KUME_* variable set: the defaults."""
    for name in KUME_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_are_the_folders_of_the_checkout(clean_environment):
    settings = Settings()
    assert settings.data_dir == PROJECT_ROOT / "data"
    assert settings.out_dir == PROJECT_ROOT / "out"
    assert settings.expectations_dir == PROJECT_ROOT / "expectations"
    assert (settings.keep_runs, settings.publish_lock_timeout_seconds, settings.publish_lease_seconds) == (5, 600, 60)
    assert (settings.sql_attempts, settings.source_attempts, settings.source_backoff_seconds) == (4, 4, 2)
    assert settings.work_retention_days == 14
    assert settings.agency_db_url is None and settings.database_url is None and settings.dask_scheduler is None


def test_every_folder_derives_from_the_data_and_output_folders():
    settings = Settings(data_dir=Path("/d"), out_dir=Path("/o"))
    assert settings.reference_dir == Path("/d/reference")
    assert settings.sources_dir == Path("/d/sources")
    assert settings.inbox_dir == Path("/d/inbox")
    assert settings.sgk_folders == [Path("/d/sources/sgk_employment"), Path("/d/inbox/sgk_employment")]
    assert settings.ingest_cache_dir == Path("/o/ingested")
    assert settings.work_dir == Path("/o/work")


def test_the_database_urls_default_to_sqlite_files_under_the_folders():
    settings = Settings(data_dir=Path("/d"), out_dir=Path("/o"))
    assert settings.resolved_database_url() == "sqlite:////o/kume.sqlite"
    assert settings.resolved_agency_db_url() == "sqlite:////d/sources/agency_db/agency.sqlite"


def test_configured_database_urls_are_used_as_given():
    settings = Settings(
        out_dir=Path("/o"),
        database_url="postgresql://kume@db/kume",
        agency_db_url="postgresql://reader@agency/agency",
    )
    assert settings.resolved_database_url() == "postgresql://kume@db/kume"
    assert settings.resolved_agency_db_url() == "postgresql://reader@agency/agency"


def test_kume_variables_set_every_field_with_its_type(clean_environment, tmp_path):
    clean_environment.setenv("KUME_DATA_DIR", str(tmp_path / "data"))
    clean_environment.setenv("KUME_OUT_DIR", str(tmp_path / "out"))
    clean_environment.setenv("KUME_KEEP_RUNS", "9")
    clean_environment.setenv("KUME_PUBLISH_LEASE_SECONDS", "120.5")
    clean_environment.setenv("KUME_DATABASE_URL", "sqlite:///elsewhere.sqlite")
    clean_environment.setenv("KUME_DASK_SCHEDULER", "tcp://10.0.0.5:8786")
    settings = Settings()
    assert settings.data_dir == tmp_path / "data" and settings.out_dir == tmp_path / "out"
    assert settings.keep_runs == 9 and settings.publish_lease_seconds == 120.5
    assert settings.resolved_database_url() == "sqlite:///elsewhere.sqlite"
    assert settings.reference_dir == tmp_path / "data" / "reference"
    assert settings.dask_scheduler == "tcp://10.0.0.5:8786"


def test_a_value_of_the_wrong_type_is_refused(clean_environment):
    clean_environment.setenv("KUME_KEEP_RUNS", "many")
    with pytest.raises(ValueError, match="keep_runs"):
        Settings()


def test_without_settings_in_force_the_current_ones_are_read_from_the_environment_now(clean_environment, tmp_path):
    assert current_settings().out_dir == PROJECT_ROOT / "out"
    clean_environment.setenv("KUME_OUT_DIR", str(tmp_path))
    assert current_settings().out_dir == tmp_path  # read at the call, not at import


def test_settings_in_force_win_over_the_environment_nest_and_are_reset(clean_environment, tmp_path):
    clean_environment.setenv("KUME_OUT_DIR", str(tmp_path / "environment"))
    outer, inner = Settings(out_dir=tmp_path / "outer"), Settings(out_dir=tmp_path / "inner")
    with use_settings(outer) as given:
        assert given is outer and current_settings() is outer
        with use_settings(inner):
            assert current_settings() is inner
        assert current_settings() is outer
    assert current_settings().out_dir == tmp_path / "environment"


def test_settings_in_force_are_reset_when_the_block_fails(clean_environment):
    with pytest.raises(RuntimeError), use_settings(Settings(out_dir=Path("/o"))):
        raise RuntimeError("the flow failed")
    assert current_settings().out_dir == PROJECT_ROOT / "out"


def test_settings_in_force_reach_copied_contexts_not_other_threads(clean_environment):
    settings = Settings(out_dir=Path("/o"))
    seen = {}
    with use_settings(settings):
        copied = contextvars.copy_context()
        thread = threading.Thread(target=lambda: seen.update(thread=current_settings()))
        thread.start()
        thread.join()
    assert copied.run(current_settings) is settings
    assert seen["thread"].out_dir == PROJECT_ROOT / "out"  # a new thread starts with its own context
