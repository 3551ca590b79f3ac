"""Helpers shared by the tests."""

from __future__ import annotations

import functools
import importlib.util
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from kume.settings import PROJECT_ROOT


def kume(*args: str) -> subprocess.CompletedProcess:
    """The kume command as a user types it, run from the checkout."""
    return subprocess.run([sys.executable, "-m", "kume.cli", *args], capture_output=True, text=True, cwd=PROJECT_ROOT)


@contextmanager
def kume_env(out_dir: Path | None = None, data_dir: Path | None = None, **extra: str):
    """Set kume's configuration (KUME_OUT_DIR, KUME_DATA_DIR, ...) for the duration of a block."""
    values = {"KUME_OUT_DIR": out_dir, "KUME_DATA_DIR": data_dir, **extra}
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is not None:
                os.environ[name] = str(value)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_selection(out_dir: Path, data_dir: Path | None = None, **request):
    """The real selection flow with its output (and data) folder in the settings in force (as
    ``kume run --out --data`` runs it) and a ``RunRequest`` of ``request``."""
    from flows.select_clusters import select_clusters
    from kume.settings import Settings, use_settings
    from schemas.parameters import RunRequest

    folders = {"out_dir": out_dir, "data_dir": data_dir}
    with use_settings(Settings(**{field: folder for field, folder in folders.items() if folder is not None})):
        return select_clusters(RunRequest(**request))


def recorded_task_runs(flow_run_id: object) -> list:
    """The task runs of a flow run, once Prefect has recorded each one's final state (the
    bench's ``recorded_task_runs``: Prefect records them from events a moment after the flow
    returns, so that read at once one may have none)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        return _bench().recorded_task_runs(client, FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))


@functools.cache
def _bench():
    """``bench/national.py`` as a module (not a package's), loaded once."""
    spec = importlib.util.spec_from_file_location("national_bench", PROJECT_ROOT / "bench" / "national.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench
