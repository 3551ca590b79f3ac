"""Processes forked to work for this one (the readers of a source's files, the renderers of
report pages, a stage done beside the flow's next ones): what each does first."""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from tasks.memory import keep_freed_memory, libc_function

PR_SET_PDEATHSIG = 1  # Linux's prctl option
Result = TypeVar("Result")
Log = Callable[[str], None]


def start_worker() -> None:
    """Die with the process that forked this one, keep the memory freed for the next task
    (``keep_freed_memory``), and leave what it inherited out of the garbage collector's walks
    (``gc.freeze``: walking the parent's objects would copy every page of them). A run killed
    (SIGKILL, the out-of-memory killer) leaves no worker behind: the pool's pipes would keep one
    waiting for work forever. Linux has the kernel SIGKILL it when the forking thread ends (that
    thread waits for its pool); elsewhere a worker lives on as before."""
    prctl = libc_function("prctl")
    parent = multiprocessing.parent_process()
    if prctl is not None and parent is not None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent.pid:  # the parent died before the request took effect
            os._exit(1)
    gc.freeze()
    keep_freed_memory()


HELD_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def signals_held() -> Iterator[None]:
    """SIGTERM and SIGINT received in the block are handled when it ends. Forking runs Python
    callbacks (logging's take its lock before the fork and give it back after); an exception a
    signal handler raises inside them (``kume run``'s on SIGTERM, Prefect's) is ignored: the
    signal was lost, the run went on, and logging's lock stayed taken, so that the next thread
    to make a logger waited for ever. Handlers are this process's main thread's to change; in
    another thread (where no handler ever runs) nothing is held."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    handlers = {number: signal.signal(number, lambda number, frame: received.append(number)) for number in HELD_SIGNALS}
    try:
        yield
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
        for number in received:
            signal.raise_signal(number)  # handled now, by the handler in force before


def forked_pool(
    processes: int, initializer: Callable[..., None] = start_worker, *initargs: object
) -> ProcessPoolExecutor:
    """A pool of ``processes`` forked from this one now, in this thread, signals held
    (``signals_held``); each first runs ``initializer(*initargs)`` (``start_worker`` or one
    that calls it), and finds in memory what this process had when it forked."""
    pool = ProcessPoolExecutor(
        processes, multiprocessing.get_context("fork"), initializer=initializer, initargs=initargs
    )
    with signals_held():
        pool.submit(int)  # the executor forks every process on its first work
    return pool


def may_fork() -> bool:
    """Whether this process may start others: not where it is a daemon, as Dask's workers are."""
    return not multiprocessing.current_process().daemon


def _do(work: Callable[[Log], Result]) -> tuple[Result | None, list[str], Exception | None]:
    messages: list[str] = []
    try:
        return work(messages.append), messages, None
    except Exception as error:  # raised in the parent, after what the work logged
        return None, messages, error


BACKGROUND_NICENESS = 10  # CFS then gives a process at 0 about nine times its share of a core


def _start_in_background() -> None:
    start_worker()
    os.nice(BACKGROUND_NICENESS)


class OwnProcess:
    """A process forked from this one when made, to do one stage's work later (``do``) beside
    what this process does meanwhile on the other core: Python runs one thread at a time, and
    numerical libraries (OpenBLAS) give other last bits when called from two threads at once,
    never from two processes. It is forked when made so that the fork happens where the flow
    decides, between tasks: forked while another thread is inside Arrow (starting its thread
    pool), the copy would wait forever for a lock that thread held. Closed with ``close``; it
    dies with this process's forking thread (``start_worker``)."""

    def __init__(self, background: bool = False) -> None:
        """``background``: the process works at a lower priority (``os.nice``), so that where
        it and this one's work want the same core (the threads Arrow starts), this one's goes
        first: for a stage beside one whose time counts more."""
        self._process = forked_pool(1, _start_in_background) if background else forked_pool(1)

    def do(self, work: Callable[[Log], Result], log: Log) -> Result:
        """``work(log)`` done there (``work`` is pickled: a function of the module and its
        arguments); what it logs is logged here when it ends, and what it raises is raised here."""
        result, messages, error = self._process.submit(_do, work).result()
        for message in messages:
            log(message)
        if error is not None:
            raise error
        return result

    def close(self) -> None:
        self._process.shutdown(wait=True, cancel_futures=True)
