"""Waiting on the single writer's futures from the event loop, one wake-up per batch.

`asyncio.wrap_future` wakes the event loop once per future (a write to its self-pipe from
the writer thread, then a read on the loop). Group commit resolves a whole batch of futures
at once, so the waiters here are collected and the loop is woken once for all that are
ready: the first completion schedules a drain, the ones after it join that drain.
"""

import asyncio
from collections import deque
from concurrent.futures import Future
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

T = TypeVar("T")

_Ready = tuple["asyncio.Future[Any]", "Future[Any]"]


class Completions:
    """Bridges concurrent futures to one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._ready: deque[_Ready] = deque()
        self._scheduled = False

    def wait(self, future: "Future[T]") -> "asyncio.Future[T]":
        waiter: asyncio.Future[T] = self._loop.create_future()
        future.add_done_callback(lambda done: self._completed(waiter, done))
        return waiter

    def _completed(self, waiter: "asyncio.Future[Any]", done: "Future[Any]") -> None:
        # Runs on the thread that resolved `done`.
        self._ready.append((waiter, done))
        if not self._scheduled:
            self._scheduled = True
            try:
                self._loop.call_soon_threadsafe(self._drain)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                self._scheduled = False

    def _drain(self) -> None:
        self._scheduled = False
        ready = self._ready
        while ready:
            waiter, done = ready.popleft()
            if waiter.cancelled():
                continue
            if done.cancelled():
                waiter.cancel()
                continue
            error = done.exception()
            if error is None:
                waiter.set_result(done.result())
            else:
                waiter.set_exception(error)


_per_loop: "WeakKeyDictionary[asyncio.AbstractEventLoop, Completions]" = WeakKeyDictionary()


def wait_for(future: "Future[T]") -> "asyncio.Future[T]":
    """An awaitable for `future`, on the running loop."""
    loop = asyncio.get_running_loop()
    completions = _per_loop.get(loop)
    if completions is None:
        completions = _per_loop[loop] = Completions(loop)
    return completions.wait(future)
