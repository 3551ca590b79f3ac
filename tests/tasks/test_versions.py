"""The versions of the packages that shape the outputs are part of the run id, of every stage's
cache key and of the read cache, and the manifest records them: an upgrade of pandas gives a new
run id and recomputes, where an unchanged environment keeps every key."""

from __future__ import annotations

import json
from importlib import metadata

import pytest
from helpers import recorded_task_runs, run_selection

from kume.settings import PROJECT_ROOT
from tasks import store, versions
from tasks.publish.snapshot import run_identity
from tasks.sources.files import list_source_folder

REFERENCE = PROJECT_ROOT / "data" / "reference"


def _clear_caches() -> None:
    versions.package_versions.cache_clear()
    store.code_fingerprint.cache_clear()


@pytest.fixture
def upgrade(monkeypatch):
    """Call it with ``{distribution: version}`` to pretend those are installed; the memoised
    versions and fingerprints are cleared before and after, so no other test sees the fake ones."""
    real = metadata.version

    def pretend(changes: dict[str, str]) -> None:
        monkeypatch.setattr(versions.metadata, "version", lambda name: changes.get(name) or real(name))
        _clear_caches()

    _clear_caches()
    yield pretend
    monkeypatch.undo()
    _clear_caches()


def _keys(tmp_path) -> dict[str, str]:
    paths = store.Paths(
        PROJECT_ROOT / "data" / "sources",
        REFERENCE,
        PROJECT_ROOT / "expectations",
        tmp_path / "work",
        f"sqlite:///{PROJECT_ROOT / 'data' / 'sources' / 'agency_db' / 'agency.sqlite'}",
    )
    return {
        "run_id": run_identity({"sgk_employment/a.csv": "ab12"}, {"weights": [0.25] * 4}, "commit"),
        "code": store.code_fingerprint(),
        "setup": store.setup_fingerprint(paths),
        "ingest": store.ingest_key("consultation", paths, list_source_folder),
        "validate": store.validate_key("consultation", {"accepted": "x.parquet"}, paths),
        "read_cache": store.reader_fingerprint(REFERENCE),
    }


def test_the_output_shaping_packages_are_read_from_the_installed_distributions():
    found = versions.package_versions()
    assert {"python", "kume", "pandas", "numpy", "pyarrow", "great-expectations"} <= set(found)
    for name in ("pandas", "numpy", "pyarrow", "great-expectations", "sqlalchemy", "openpyxl"):
        assert found[name] == metadata.version(name)
    import pandas

    assert found["pandas"] == pandas.__version__


def test_an_upgrade_changes_the_run_id_and_every_cache_key(upgrade, tmp_path):
    before = _keys(tmp_path)
    assert _keys(tmp_path) == before  # the same environment: the same keys

    upgrade({"pandas": "99.0.0"})
    assert versions.package_versions()["pandas"] == "99.0.0"
    after = _keys(tmp_path)
    assert {name for name in before if after[name] == before[name]} == set()

    upgrade({"pyarrow": "1.0.0"})  # another package, another set of keys
    assert set(_keys(tmp_path).values()).isdisjoint(after.values())


def test_the_run_id_takes_the_versions_it_is_given():
    inputs, parameters = {"f": "1"}, {"p": 1}
    installed = run_identity(inputs, parameters, "c")
    assert run_identity(inputs, parameters, "c", versions.package_versions()) == installed
    assert run_identity(inputs, parameters, "c", {**versions.package_versions(), "numpy": "0.1"}) != installed


def test_the_manifest_records_the_package_versions(published_run):
    manifest = published_run["manifest"]
    assert manifest["package_versions"] == versions.package_versions()
    on_disk = json.loads((published_run["run_dir"] / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk["package_versions"]["pandas"] == metadata.version("pandas")


def _stage_states(manifest: dict) -> dict[str, str]:
    """Task run name -> state name of the cached stages of a run."""
    runs = recorded_task_runs(manifest["flow_run_id"])
    return {
        run.name: run.state.name
        for run in runs
        if run.name.startswith(("ingest-", "validate-", "indicators", "score-"))
    }


def test_after_an_upgrade_the_unchanged_nightly_run_recomputes_everything(upgrade, tmp_path):
    out = tmp_path / "out"
    first = run_selection(out, provinces=["Samsun"])
    assert run_selection(out, provinces=["Samsun"])["run_id"] == first["run_id"]  # unchanged: from the cache

    upgrade({"pandas": "99.0.0"})
    upgraded = run_selection(out, provinces=["Samsun"])
    assert upgraded["run_id"] != first["run_id"]
    assert upgraded["package_versions"]["pandas"] == "99.0.0" != first["package_versions"]["pandas"]
    states = _stage_states(upgraded)
    assert states and set(states.values()) == {"Completed"}, states  # read, validated, computed again
    files = [file for info in upgraded["inputs"].values() for file in info["files"] or []]
    assert files and all(file.get("read") != "cached" for file in files)  # every file parsed again
    assert (out / "runs" / upgraded["run_id"] / "manifest.json").exists()
