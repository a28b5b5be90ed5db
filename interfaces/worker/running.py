"""Running a task function: an async one as an asyncio task on the worker's loop, a sync
one in a thread of its own (a daemon, so a function that never returns cannot keep the
process alive once the worker has given its task back). Either way the outcome is a
future on the loop, and whatever the function raises is its outcome: an exception asyncio
would not carry (StopIteration) or would let out of the loop (SystemExit,
KeyboardInterrupt) becomes a RuntimeError naming it, so it fails the task and nothing
else."""

import asyncio
import contextlib
import functools
import inspect
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from interfaces.client.types import Task
from interfaces.worker.attempt import Attempt, context_of

TaskFunction = Callable[[Task], Any] | Callable[[Task], Awaitable[Any]]


def is_async(function: TaskFunction) -> bool:
    """An `async def` function, also behind decorators that keep `__wrapped__`, a
    `functools.partial`, or an object whose `__call__` is one."""
    target: Any = inspect.unwrap(function)
    while isinstance(target, functools.partial):
        target = inspect.unwrap(target.func)
    return inspect.iscoroutinefunction(target) or inspect.iscoroutinefunction(
        getattr(target, "__call__", None)  # noqa: B004 (an object's __call__, not callable())
    )


def start(function: TaskFunction, attempt: Attempt) -> "asyncio.Future[Any]":
    """The function running for the attempt; stopping the attempt cancels an async one."""
    context = context_of(attempt)
    if is_async(function):
        running = asyncio.get_running_loop().create_task(
            _contained(function, attempt.task), name=f"task-{attempt.task['id']}",
            context=context,
        )  # fmt: skip
        attempt.when_stopped(lambda: running.get_loop().call_soon_threadsafe(running.cancel))
        return running
    return _in_thread(function, attempt, context)


async def _contained(function: TaskFunction, task: Task) -> Any:
    try:
        return await function(task)
    except (StopIteration, SystemExit, KeyboardInterrupt) as error:
        raise _named(error) from error


def _in_thread(function: TaskFunction, attempt: Attempt, context: Any) -> "asyncio.Future[Any]":
    loop = asyncio.get_running_loop()
    outcome: asyncio.Future[Any] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if not outcome.done():
            if error is None:
                outcome.set_result(result)
            else:
                outcome.set_exception(error)

    def body() -> None:
        answer: tuple[Any, BaseException | None]
        try:
            result = context.run(function, attempt.task)
            if inspect.isawaitable(result):  # an async function it could not tell
                _close(result)
                raise TypeError(
                    "the task function returned an awaitable from a thread: register the "
                    "async function itself (or a sync function)"
                )
            answer = (result, None)
        except (StopIteration, SystemExit, KeyboardInterrupt) as error:
            answer = (None, _named(error))
        except BaseException as error:  # reported as the attempt's outcome
            answer = (None, error)
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
            loop.call_soon_threadsafe(settle, *answer)

    threading.Thread(target=body, name=f"task-{attempt.task['id']}", daemon=True).start()
    return outcome


def _named(error: BaseException) -> RuntimeError:
    named = RuntimeError(f"the task function raised {type(error).__name__}: {error}".rstrip(": "))
    named.__cause__ = error
    return named


def _close(awaitable: Any) -> None:
    close = getattr(awaitable, "close", None)
    if close is not None:
        close()
