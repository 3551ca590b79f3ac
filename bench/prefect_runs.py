"""Bench: the selection flow cold, unchanged and as a one-province rerun, on the shipped data.

    .venv/bin/python bench/prefect_runs.py [--data DIR]

Runs on Prefect's embedded server with a throwaway PREFECT_HOME and output folder; the server
is started by a no-op flow first so that its start-up is reported apart. Prints wall time per
run, its tasks taken from the cache, and the process's peak memory.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
scratch = Path(tempfile.mkdtemp(prefix="kume-bench-"))
os.environ["PREFECT_HOME"] = str(scratch / "prefect")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ["KUME_OUT_DIR"] = str(scratch / "out")

from prefect import flow  # noqa: E402
from prefect.client.orchestration import get_client  # noqa: E402
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId  # noqa: E402

from flows.selection import select_clusters  # noqa: E402
from schemas.parameters import RunRequest  # noqa: E402


@flow
def noop() -> None:
    """Starts the embedded server."""


def cached_tasks(flow_run_id: str) -> tuple[int, int]:
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return sum(run.state.name == "Cached" for run in runs), len(runs)


def timed(label: str, request: RunRequest) -> float:
    start = time.perf_counter()
    manifest = select_clusters(request)
    seconds = time.perf_counter() - start
    cached, total = cached_tasks(manifest["flow_run_id"])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{label:<36} {seconds:7.1f} s   {cached:3d}/{total:<3d} tasks cached   peak RSS {peak:6.0f} MiB")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="data folder (default: the shipped data)")
    args = parser.parse_args()
    if args.data:
        os.environ["KUME_DATA_DIR"] = str(args.data.resolve())
    start = time.perf_counter()
    noop()
    print(f"{'Prefect embedded server start-up':<36} {time.perf_counter() - start:7.1f} s")
    cold = timed("cold nightly (81 provinces)", RunRequest())
    unchanged = timed("unchanged nightly", RunRequest())
    weights = {"economic_impact": 0.4, "demand": 0.3, "networking": 0.2, "factor_conditions": 0.1}
    rerun = timed(
        "one-province rerun, other weights", RunRequest(provinces=["Samsun"], weights=weights, reason="bench")
    )
    forced = timed("forced nightly (force=True)", RunRequest(force=True))
    print(
        f"unchanged / cold = {unchanged / cold:.0%}; rerun / cold = {rerun / cold:.0%}; "
        f"forced / cold = {forced / cold:.0%}   (scratch: {scratch})"
    )


if __name__ == "__main__":
    main()
