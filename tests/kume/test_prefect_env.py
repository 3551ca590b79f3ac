"""kume's Prefect defaults (``kume.prefect_env``): applied only where the environment does not
set the variable, never over the operator's own value."""

from __future__ import annotations

import os

import pytest

from kume.prefect_env import DEFAULTS, configure_prefect
from kume.settings import PROJECT_ROOT


@pytest.fixture
def unset(monkeypatch):
    """None of the variables kume gives a default set (restored after the test)."""
    for name in DEFAULTS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_every_default_is_applied_where_nothing_is_set(unset):
    configure_prefect()
    assert {name: os.environ[name] for name in DEFAULTS} == DEFAULTS
    assert os.environ["PREFECT_HOME"] == str(PROJECT_ROOT / ".prefect")  # inside the project
    assert os.environ["DO_NOT_TRACK"] == "1" and os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert os.environ["ARROW_DEFAULT_MEMORY_POOL"] == "system"


def test_a_value_the_environment_sets_is_kept(unset, tmp_path):
    unset.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    unset.setenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "300")
    unset.setenv("DO_NOT_TRACK", "")  # set, though empty: still the operator's
    configure_prefect()
    assert os.environ["PREFECT_HOME"] == str(tmp_path / "prefect")
    assert os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] == "300"
    assert os.environ["DO_NOT_TRACK"] == ""
    assert os.environ["GX_ANALYTICS_ENABLED"] == "false"  # the others: kume's defaults


def test_configuring_twice_changes_nothing(unset):
    configure_prefect()
    first = dict(os.environ)
    configure_prefect()
    assert dict(os.environ) == first


def test_every_default_turns_off_what_reaches_the_network():
    telemetry = [name for name in DEFAULTS if "ANALYTICS" in name or "TELEMETRY" in name or "PROMOTIONAL" in name]
    assert len(telemetry) == 5
    assert all(DEFAULTS[name] == "false" for name in telemetry)
