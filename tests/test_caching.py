"""Task caching by content: an unchanged run takes every task from the cache, a changed input
recomputes what depends on it, force recomputes everything, and Prefect's result storage holds
small dicts of Parquet paths, never tables."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers import run_selection
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from kume.settings import PROJECT_ROOT

CACHED_STAGES = ("ingest-", "validate-", "indicators", "score-")


def task_states(manifest: dict) -> dict[str, str]:
    """Task run name -> state name (Completed, Cached, ...) of a run's flow run."""
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[manifest["flow_run_id"]])))
    return {run.name: run.state.name for run in runs if run.name.startswith(CACHED_STAGES)}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("caching")
    shutil.copytree(PROJECT_ROOT / "data", root / "data")
    return root


def test_unchanged_changed_and_forced_runs(workspace):
    data, out = workspace / "data", workspace / "out"
    first = run_selection(out, data, provinces=["Samsun", "Trabzon"])
    assert set(task_states(first).values()) == {"Completed"}

    again = run_selection(out, data, provinces=["Samsun", "Trabzon"])
    states = task_states(again)
    assert len(states) == 2 * 8 + 1 + 2 and set(states.values()) == {"Cached"}, states
    assert again["run_id"] == first["run_id"]

    # other weights: only the scores are computed again
    weights = {"economic_impact": 0.4, "demand": 0.2, "networking": 0.2, "factor_conditions": 0.2}
    reweighted = task_states(run_selection(out, data, provinces=["Samsun", "Trabzon"], weights=weights))
    assert {name for name, state in reweighted.items() if state != "Cached"} == {
        "score-samsun-2022",
        "score-trabzon-2022",
    }

    # a changed consultation record: that source is read and validated again, nothing else upstream
    consultation = next((data / "sources" / "consultation").iterdir())
    consultation.write_bytes(consultation.read_bytes() + b"\n")
    changed = task_states(run_selection(out, data, provinces=["Samsun", "Trabzon"]))
    assert changed["ingest-consultation"] == "Completed" and changed["ingest-sgk_employment"] == "Cached"

    # staged files removed behind the cache's back are computed again, not read as missing
    for staged in (out / "work").glob("candidates-*.parquet"):
        staged.unlink()
    rebuilt = run_selection(out, data, provinces=["Samsun", "Trabzon"])
    assert rebuilt["run_id"] == run_selection(out, data, provinces=["Samsun", "Trabzon"])["run_id"]

    forced = task_states(run_selection(out, data, provinces=["Samsun", "Trabzon"], force=True))
    assert set(forced.values()) == {"Completed"}


def test_prefect_result_storage_holds_paths_not_tables(workspace):
    storage = Path(os.environ["PREFECT_HOME"]) / "storage"
    sizes = [path.stat().st_size for path in storage.rglob("*") if path.is_file()]
    assert sizes, "no persisted task results"
    assert max(sizes) < 200_000  # the largest is a source's per-file quality summary
