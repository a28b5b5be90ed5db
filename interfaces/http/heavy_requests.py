"""Requests that read the whole log (verification, what-if replays): one at a time, and
each answered within `budget_s`. A second one while one runs, or one still running when
its budget ends, gets a 503 pointing to the CLI, which has no such bound and shows
progress. Work whose budget ended is told to stop (verification stops at its next page) or
runs to its end holding the slot (a replay), so such requests never pile up."""

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from application.errors import ServiceOverloaded

T = TypeVar("T")


class Abandoned(Exception):
    """Raised inside work whose request has already been answered."""


class HeavyRequests:
    def __init__(self, budget_s: float) -> None:
        self.budget_s = budget_s
        self._busy = threading.Lock()

    async def run(self, work: Callable[[threading.Event], T], cli: str) -> T:
        """Run `work(stop)` on a worker thread; `stop` is set once its answer is no longer
        awaited, for work that can end early to check."""
        if not self._busy.acquire(blocking=False):
            raise ServiceOverloaded(
                f"another whole-log request is running; retry shortly, or run `{cli}`"
            )
        stop = threading.Event()

        def guarded() -> T:
            try:
                return work(stop)
            finally:
                self._busy.release()

        task = asyncio.ensure_future(run_in_threadpool(guarded))
        task.add_done_callback(_collect)
        try:
            return await asyncio.wait_for(asyncio.shield(task), self.budget_s)
        except TimeoutError:
            stop.set()
            raise ServiceOverloaded(
                f"the log is too long to go through within {self.budget_s:g} s in a request "
                f"(HEAVY_REQUEST_S); run `{cli}`, which shows its progress"
            ) from None


def _collect(task: "asyncio.Future[Any]") -> None:
    """Retrieve the outcome of work nobody awaits any more (Abandoned, mostly)."""
    if not task.cancelled():
        task.exception()
