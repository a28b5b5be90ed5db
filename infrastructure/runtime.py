"""Process-wide settings for a long-running server."""

import ctypes
import ctypes.util
import gc
from collections.abc import Callable

YOUNG_GENERATION_THRESHOLD = 50_000


def tune_garbage_collector() -> None:
    """Collect cyclic garbage less often. Every request allocates many short-lived
    objects; at CPython's default threshold (700) the young generation is collected every
    few requests, and the older ones, which hold the scheduler's queue, often enough to
    stall requests for tens of milliseconds. Objects alive at start-up are frozen out of
    collections altogether. Measured with wrk at 64 connections: about 1,760 -> 2,200
    POSTs/s, p99 140 -> 75 ms."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, 20, 100)


def freed_memory_releaser() -> Callable[[], None]:
    """A function that gives the memory the allocator holds free back to the system.

    glibc's malloc keeps freed memory in its heaps, and after freeing a large block it
    raises the size from which blocks are mapped on their own, so bursts of large buffers
    (an event stream's pages, a slow client's unsent bytes) leave the resident size at its
    peak for good. `malloc_trim(0)` returns those free pages. Elsewhere, a no-op."""
    name = ctypes.util.find_library("c")
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    if trim is None:
        return lambda: None
    return lambda: trim(0)
