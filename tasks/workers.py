"""Processes forked to work for this one (the readers of a source's files, the renderers of
report pages): what each does first."""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal

from tasks.memory import keep_freed_memory, libc_function

PR_SET_PDEATHSIG = 1  # Linux's prctl option


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
