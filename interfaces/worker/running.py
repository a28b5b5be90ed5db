"""Running a task function: an async one as an asyncio task on the worker's loop, a sync
one in a thread of its own (a daemon, so a function that never returns cannot keep the
process alive once the worker has given its task back). Either way the outcome is a
future on the loop."""

import asyncio
import contextlib
import inspect
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from interfaces.client.types import Task
from interfaces.worker.attempt import Attempt, context_of

TaskFunction = Callable[[Task], Any] | Callable[[Task], Awaitable[Any]]


def start(function: TaskFunction, attempt: Attempt) -> "asyncio.Future[Any]":
    """The function running for the attempt; stopping the attempt cancels an async one."""
    context = context_of(attempt)
    if inspect.iscoroutinefunction(function):
        running = asyncio.get_running_loop().create_task(
            function(attempt.task), name=f"task-{attempt.task['id']}", context=context
        )
        attempt.when_stopped(lambda: running.get_loop().call_soon_threadsafe(running.cancel))
        return running
    return _in_thread(function, attempt, context)


def _in_thread(function: TaskFunction, attempt: Attempt, context: Any) -> "asyncio.Future[Any]":
    loop = asyncio.get_running_loop()
    outcome: asyncio.Future[Any] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if outcome.done():
            return
        if error is None:
            outcome.set_result(result)
        else:
            outcome.set_exception(error)

    def body() -> None:
        try:
            result = context.run(function, attempt.task)
        except BaseException as error:  # reported as the attempt's outcome
            answer: tuple[Any, BaseException | None] = (None, error)
        else:
            answer = (result, None)
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
            loop.call_soon_threadsafe(settle, *answer)

    threading.Thread(target=body, name=f"task-{attempt.task['id']}", daemon=True).start()
    return outcome
