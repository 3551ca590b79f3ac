"""Memory a stage freed, handed back to the system between stages.

Arrow's memory pool (mimalloc) and the C library's allocator keep the pages a stage freed for
their own reuse rather than returning them: after the registry's ingest a process still holds
about 0.75 GB it no longer uses, so the next stage's peak comes on top of it and a run's peak
is the sum of its stages rather than the largest one. Released between stages, a national run
peaks at its largest stage.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable

import pyarrow as pa


def release_memory() -> None:
    """Return the free pages of Arrow's pool and of the C allocator to the system (a few ms)."""
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``; None on a C library without it (musl, macOS)."""
    name = ctypes.util.find_library("c")
    library = ctypes.CDLL(name) if name else None
    return getattr(library, "malloc_trim", None)
