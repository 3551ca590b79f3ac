"""``kume run`` processes and the publication lock as the tests that start, kill or wait for them
see them: shared by tests/tasks/publish/test_crash_recovery.py, tests/kume/test_embedded_server.py
and tests/kume/test_publication.py."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

from kume.settings import PROJECT_ROOT

PROVINCE = ["--provinces", "Samsun"]  # one province: the shortest real run


def kume_env(root: Path, **extra: str) -> dict:
    env = {
        **os.environ,
        "PREFECT_HOME": str(root / "prefect"),
        "KUME_OUT_DIR": str(root / "out"),
        "PREFECT_LOGGING_LEVEL": "INFO",
    }
    for name in ("PREFECT_API_URL", "PREFECT_API_AUTH_STRING", "KUME_EMBEDDED_SERVER", "KUME_FAULT_POINT"):
        env.pop(name, None)
    return {**env, **extra}


def start_kume_run(root: Path, *args: str, **extra: str) -> tuple[subprocess.Popen, Path]:
    log = root / f"kume-run-{time.monotonic_ns()}.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "kume.cli", "run", *args],
            env=kume_env(root, **extra),
            cwd=PROJECT_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return process, log


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def processes_of(root: Path) -> list[psutil.Process]:
    """Every live process whose environment names this test's output root: the kume runs and
    whatever they started (an orphan included, whoever its parent is now)."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.pid != os.getpid() and process.environ().get("KUME_OUT_DIR") == str(root / "out"):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return [process for process in found if alive(process)]


def survivors(processes: list[psutil.Process], timeout: float = 10) -> list[str]:
    deadline = time.monotonic() + timeout
    while (left := [p for p in processes if alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    return [f"{p.pid}: {' '.join(p.cmdline())[:200]}" for p in left if alive(p)]


def hold_lock(out_dir: Path, record: dict):
    """The publication lock of ``out_dir``, taken by this test process with ``record`` as holder."""
    out_dir.mkdir(parents=True, exist_ok=True)
    handle = (out_dir / ".publish.lock").open("a+")
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps(record) + "\n")
    handle.flush()
    return handle


def holder(**fields) -> dict:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "run_id": "1a2b3c4d5e6f7a8b",
        "flow_run_id": "0f9e8d7c-0000-4000-8000-000000000001",
        "since": "2026-03-01T12:00:01+00:00",
        **fields,
    }
