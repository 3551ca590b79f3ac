"""The flow on a real Dask cluster: a `dask scheduler` and two `dask worker` processes on
loopback, the provinces scored on the workers, and every published Parquet file identical,
byte for byte, to a local run's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from distributed import Client
from helpers import run_selection
from pg_server import free_port

from kume.settings import PROJECT_ROOT, Settings, use_settings

PROVINCES = ["Çorum", "Gaziantep", "Kahramanmaraş", "Samsun", "Trabzon", "Ankara"]


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """The scheduler address of a two-worker cluster on 127.0.0.1, started from the project's environment."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("dask")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    commands = [
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port)],
        *[[sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1", "--host", "127.0.0.1"]] * 2,
    ]
    processes = []
    for number, command in enumerate(commands):
        log = (logs / f"{number}.log").open("w")
        processes.append(
            subprocess.Popen([*command, "--no-dashboard"], env=env, cwd=PROJECT_ROOT, stdout=log, stderr=log)
        )
    try:
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        # and what the workers started: a worker that runs Prefect tasks without an API starts a
        # temporary Prefect server of its own, which outlived it (its parent gone, for ever)
        started = [child for p in processes for child in psutil.Process(p.pid).children(recursive=True)]
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        for child in started:
            if child.is_running():
                child.terminate()
        psutil.wait_procs(started, timeout=30)


def parquet_files(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in sorted(run_dir.rglob("*.parquet"))}


def test_a_run_on_a_dask_cluster_publishes_the_same_bytes_as_a_local_run(dask_cluster, tmp_path):
    from prefect_dask import DaskTaskRunner

    from flows.select_clusters import select_clusters
    from schemas.parameters import RunRequest

    local = run_selection(tmp_path / "local", provinces=PROVINCES)
    with use_settings(Settings(out_dir=tmp_path / "dask")):
        on_dask = select_clusters.with_options(task_runner=DaskTaskRunner(address=dask_cluster))(
            RunRequest(provinces=PROVINCES)
        )
    assert on_dask["run_id"] == local["run_id"]

    with Client(dask_cluster) as client:  # the provinces were scored on the workers
        prefixes = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes))
    assert any("score" in prefix for prefix in prefixes), prefixes

    local_files = parquet_files(tmp_path / "local" / "runs" / local["run_id"])
    dask_files = parquet_files(tmp_path / "dask" / "runs" / on_dask["run_id"])
    assert len(local_files) >= 10
    assert local_files.keys() == dask_files.keys()
    different = [name for name in local_files if local_files[name] != dask_files[name]]
    assert not different


def test_the_scheduler_address_comes_from_the_settings_in_force_when_a_run_starts(monkeypatch):
    """Prefect's engine runs a flow on ``flow.task_runner.duplicate()``: that is where the runner
    is chosen, from ``use_settings`` (``kume run``) or else the process's ``KUME_DASK_SCHEDULER``
    (a worker), whatever the environment was when the flow was imported."""
    from prefect.task_runners import ThreadPoolTaskRunner
    from prefect_dask import DaskTaskRunner

    from flows.select_clusters import select_clusters

    monkeypatch.delenv("KUME_DASK_SCHEDULER", raising=False)
    assert type(select_clusters.task_runner.duplicate()) is ThreadPoolTaskRunner
    with use_settings(Settings(dask_scheduler="tcp://10.0.0.6:8786")):
        runner = select_clusters.task_runner.duplicate()
    assert isinstance(runner, DaskTaskRunner) and runner.address == "tcp://10.0.0.6:8786"
    monkeypatch.setenv("KUME_DASK_SCHEDULER", "tcp://10.0.0.5:8786")
    runner = select_clusters.task_runner.duplicate()
    assert isinstance(runner, DaskTaskRunner) and runner.address == "tcp://10.0.0.5:8786"


def test_a_flow_run_works_with_the_runner_and_the_settings_in_force_at_its_start(tmp_path):
    """The engine enters ``duplicate()`` (a plain thread pool here, not the flow's own runner) and
    the flow's body sees the settings that ``use_settings`` put in force around the call."""
    from prefect import flow
    from prefect.context import FlowRunContext
    from prefect.task_runners import ThreadPoolTaskRunner

    from flows.select_clusters import SettingsTaskRunner
    from kume.settings import current_settings

    @flow(task_runner=SettingsTaskRunner())
    def seen() -> tuple[type, Path]:
        return type(FlowRunContext.get().task_runner), current_settings().out_dir

    with use_settings(Settings(out_dir=tmp_path)):
        assert seen() == (ThreadPoolTaskRunner, tmp_path)
