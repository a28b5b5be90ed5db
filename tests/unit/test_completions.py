"""Writer futures awaited from the event loop: results, errors and cancellations arrive,
and a batch resolved together wakes the loop once."""

import asyncio
import threading
from concurrent.futures import Future
from typing import Any

import pytest

from interfaces.http.completions import Completions, wait_for


def resolve_on_a_thread(futures: list["Future[Any]"], values: list[Any]) -> threading.Thread:
    def run() -> None:
        for future, value in zip(futures, values, strict=True):
            if isinstance(value, Exception):
                future.set_exception(value)
            else:
                future.set_result(value)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_results_and_errors_reach_their_waiters() -> None:
    async def scenario() -> list[Any]:
        futures: list[Future[Any]] = [Future() for _ in range(3)]
        waiters = [wait_for(future) for future in futures]
        resolve_on_a_thread(futures, [1, ValueError("rejected"), 3])
        return await asyncio.gather(*waiters, return_exceptions=True)

    first, second, third = asyncio.run(scenario())
    assert (first, third) == (1, 3)
    assert isinstance(second, ValueError)
    assert str(second) == "rejected"


def test_a_batch_resolved_together_wakes_the_loop_once() -> None:
    async def scenario() -> tuple[list[int], int]:
        loop = asyncio.get_running_loop()
        wakeups = 0
        original = loop.call_soon_threadsafe

        def counting(*args: Any, **kwargs: Any) -> Any:
            nonlocal wakeups
            wakeups += 1
            return original(*args, **kwargs)

        loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
        completions = Completions(loop)
        futures: list[Future[int]] = [Future() for _ in range(50)]
        waiters = [completions.wait(future) for future in futures]
        # the loop is held until all 50 are resolved, as a busy loop is when a batch
        # commits: the one wakeup drains them all
        resolve_on_a_thread(list(futures), list(range(50))).join()
        results = await asyncio.gather(*waiters)
        return results, wakeups

    results, wakeups = asyncio.run(scenario())
    assert results == list(range(50))
    assert wakeups == 1


def test_a_cancelled_waiter_is_skipped_and_a_cancelled_future_cancels_its_waiter() -> None:
    async def scenario() -> None:
        completions = Completions(asyncio.get_running_loop())
        abandoned: Future[int] = Future()
        cancelled: Future[int] = Future()
        later = completions.wait(abandoned)
        later.cancel()
        waiter = completions.wait(cancelled)
        cancelled.cancel()
        abandoned.set_result(1)
        with pytest.raises(asyncio.CancelledError):
            await waiter

    asyncio.run(scenario())
