"""The processes forked to read files, render pages and do a stage beside the flow's next ones die
with the process that forked them; a stage's own process gives back its result, log and errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

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


def _work_here(log) -> int:
    log("first")
    log("second")
    return os.getpid()


def _refused(log) -> None:
    from tasks.errors import InputDataError

    log("checked the rows")
    raise InputDataError("members.csv row 3: rule expect_column_values_to_not_be_null")


def test_a_stage_s_own_process_is_forked_when_made_and_gives_back_its_result_logs_and_errors():
    """The flow forks a stage's process between tasks (``OwnProcess``), then the task has its work
    done there: the result comes back, what it logged is logged here in order, what it raised is
    raised here with its message; closed, the process is gone."""
    from tasks.errors import InputDataError
    from tasks.workers import OwnProcess

    before = {child.pid for child in psutil.Process().children()}  # a Prefect server of other tests
    process = OwnProcess()
    forked = [child for child in psutil.Process().children() if child.pid not in before]
    assert len(forked) == 1  # forked when made, before any work
    logged: list[str] = []
    try:
        assert process.do(_work_here, logged.append) == forked[0].pid != os.getpid()
        assert logged == ["first", "second"]
        with pytest.raises(InputDataError, match="members.csv row 3: rule expect_column_values"):
            process.do(_refused, logged.append)
        assert logged[-1] == "checked the rows"
    finally:
        process.close()
    _, alive = psutil.wait_procs(forked, timeout=10)
    assert not alive


def _niceness(log) -> int:
    return os.nice(0)


def test_a_stage_s_own_process_in_the_background_works_at_a_lower_priority():
    """The definitions' process beside the indicators (``background``) yields its core to the
    flow's: niceness 10 there, this process's unchanged."""
    from tasks.workers import BACKGROUND_NICENESS, OwnProcess

    mine = os.nice(0)
    for background, niceness in ((True, mine + BACKGROUND_NICENESS), (False, mine)):
        process = OwnProcess(background)
        try:
            assert process.do(_niceness, lambda message: None) == niceness
        finally:
            process.close()
    assert os.nice(0) == mine


def test_a_signal_received_while_this_process_forks_is_handled_once_the_fork_is_done():
    """A handler raising inside a fork's callbacks (logging's hold its lock over the fork) would
    see its exception ignored: the run would go on, logging's lock taken for ever. Held back
    (``signals_held``), the SIGTERM is handled by the handler in force, once the block ends."""
    from tasks.workers import signals_held

    class StoppedError(Exception):
        pass

    def stop(number, frame):
        raise StoppedError(number)

    previous = signal.signal(signal.SIGTERM, stop)
    reached = []
    try:
        with pytest.raises(StoppedError), signals_held():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)  # a handler would have run by now
            reached.append("the rest of the block")
        assert reached == ["the rest of the block"]
        assert signal.getsignal(signal.SIGTERM) is stop
    finally:
        signal.signal(signal.SIGTERM, previous)
