"""Memory a stage freed: kept for the stage's next allocations, handed back to the system
between stages.

Within a stage, the C allocator keeps what is freed (``keep_freed_memory``): by default it
returns every large block at once and faults the next one in again page by page. Between
stages, it is returned (``release_memory``): otherwise the next stage's peak comes on top of
what the last one freed (after the registry's ingest, about 0.75 GB) and a run's peak is the
sum of its stages rather than the largest one. So a national run peaks at its largest stage.
NumPy's arrays take the system's ordinary pages, not huge ones (``small_pages_for_arrays``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import importlib
import os
from collections.abc import Callable
from types import ModuleType

import pyarrow as pa


def release_memory() -> None:
    """Return the free pages of Arrow's pool and of the C allocator to the system (a few ms)."""
    pa.default_memory_pool().release_unused()
    trim = libc_function("malloc_trim")
    if trim is not None:
        trim(0)


HUGE_PAGES_SETTING = "NUMPY_MADVISE_HUGEPAGE"  # NumPy's own setting, read when it is imported
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
KEPT_BYTES = 1 << 30


def keep_freed_memory() -> None:
    """The C allocator keeps what is freed for the next allocations instead of handing it back
    to the system and faulting it in again page by page, as it does by default for blocks over
    128 KB (to 32 MB as it adapts), and Arrow allocates from it too rather than from its own pool
    (mimalloc), which hands freed pages back within milliseconds. For the run's process (what
    it holds goes back between stages, ``release_memory``) and the processes it forks (readers
    of files, page renderers: theirs when they end). Measured: the reading processes' system time
    on the registry's 81 files more than halved with the first, and halved again with the second
    (1.5-2.1 s to 0.7-0.9 s); in the run's process, the indicators' model 1.7 s instead of 2.2 s,
    and a lower peak."""
    mallopt = libc_function("mallopt")
    if mallopt is not None:
        mallopt(M_MMAP_THRESHOLD, KEPT_BYTES)
        mallopt(M_TRIM_THRESHOLD, KEPT_BYTES)
        pa.set_memory_pool(pa.system_memory_pool())
    small_pages_for_arrays()


def small_pages_for_arrays() -> None:
    """NumPy's arrays of 4 MB or more in the system's ordinary pages: by default NumPy asks Linux
    for huge ones (2 MB, ``madvise``), which the kernel then zeroes, and may compact memory for, a
    whole huge page at a time. Where the machine hands memory free for a moment back to its host
    (a VM's free page reporting, as the bench's), a huge page faulted in again cost about five
    times its ordinary pages: 1 GiB of new array in 2.1-2.3 s against 0.41-0.51 s (huge pages
    win only on memory freed less than a second before, 0.11-0.12 s). Measured on the national
    cold run (four alternating pairs and two more): the registry's reading 2.06-2.24 s against
    2.11-2.75 s, its validation 1.02-1.16 s against 1.15-1.24 s, the indicators 1.60-1.77 s
    against 1.76-2.14 s. What ``NUMPY_MADVISE_HUGEPAGE=0`` does, for a process whose NumPy is
    imported already (a private switch of NumPy's; left as it is where a version lacks it). An
    environment that sets ``NUMPY_MADVISE_HUGEPAGE`` itself keeps its choice (NumPy applied it
    when imported): a machine whose memory is not handed back may do better with huge pages."""
    switch = getattr(_numpy_multiarray(), "_set_madvise_hugepage", None)
    if switch is not None and HUGE_PAGES_SETTING not in os.environ:
        switch(False)


def _numpy_multiarray() -> ModuleType | None:
    """NumPy's ``multiarray`` module: ``numpy._core`` from NumPy 2, ``numpy.core`` before."""
    for name in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


@functools.cache
def libc_function(function: str) -> Callable[..., int] | None:
    """A function of glibc (``malloc_trim``, ``mallopt``, ``prctl``); None on a C library
    without it (musl, macOS)."""
    name = ctypes.util.find_library("c")
    library = ctypes.CDLL(name) if name else None
    return getattr(library, function, None)
