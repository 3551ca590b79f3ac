"""The processes forked to read files and render pages die with the process that forked them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import psutil
import pytest

from kume.settings import PROJECT_ROOT

POOL = """
import multiprocessing, os, sys, time
from concurrent.futures import ProcessPoolExecutor
from tasks.workers import start_worker
pool = ProcessPoolExecutor(2, multiprocessing.get_context("fork"), initializer=start_worker)
print(*{pool.submit(os.getpid).result() for _ in range(8)}, flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel's parent-death signal is Linux's")
def test_a_worker_dies_with_the_process_that_forked_it():
    """A run killed with SIGKILL (nothing of it runs again) leaves no worker waiting on its pipes."""
    process = subprocess.Popen(
        [sys.executable, "-c", POOL], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True, env=os.environ
    )
    try:
        workers = [psutil.Process(int(pid)) for pid in process.stdout.readline().split()]
        assert workers and all(worker.is_running() for worker in workers)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        _, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive, [worker.pid for worker in alive]
    finally:
        process.kill()
