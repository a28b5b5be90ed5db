"""The attempt a task function is running, as the function sees it: its task, and
whether it is to stop. `current_attempt()` finds it from inside the function (sync or
async), so a function needs no parameter beyond its task."""

import contextvars
import threading
from collections.abc import Callable
from enum import StrEnum

from interfaces.client.types import Task
from interfaces.worker.outcomes import Stopped


class StopReason(StrEnum):
    CANCELLED = "stopped on a cancel request"
    LEASE_LOST = "the lease is lost"
    SHUTDOWN = "worker shutting down"


class Attempt:
    """One attempt at a leased task. The function checks `stopping()` (or calls
    `check()`, or sleeps with `wait()`) to end early; an async function is also
    cancelled (asyncio) when its attempt is to stop."""

    def __init__(self, task: Task, token: str, worker_id: str) -> None:
        self.task = task
        self.token = token
        self.worker_id = worker_id
        self._stop = threading.Event()
        self._why: StopReason | None = None
        self._on_stop: Callable[[], object] | None = None
        self._lock = threading.Lock()

    @property
    def number(self) -> int:
        """1 for the task's first attempt, 2 for its first retry, ..."""
        return int(self.task["attempt"])

    @property
    def stop_reason(self) -> StopReason | None:
        """Why the attempt is to stop, if it is."""
        return self._why

    def stopping(self) -> bool:
        """True once the task was cancelled, its lease lost, or the worker is shutting down
        past its grace: stop soon (raise, or call `check()`)."""
        return self._stop.is_set()

    def check(self) -> None:
        """Raise `Stopped` if the attempt is to stop."""
        if self._stop.is_set():
            raise Stopped(str(self._why))

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking at once if the attempt is to stop: True if it is."""
        return self._stop.wait(seconds)

    def stop(self, why: StopReason) -> None:
        """(The worker's) tell the function to stop; the first reason is kept, but for a
        lost lease, which overrides any (nothing is reported for a lease lost)."""
        with self._lock:
            if self._why is not None:
                if why is StopReason.LEASE_LOST:
                    self._why = why
                return
            self._why = why
            on_stop = self._on_stop
        self._stop.set()
        if on_stop is not None:
            on_stop()

    def when_stopped(self, call: Callable[[], object]) -> None:
        """(The worker's) run `call` when the attempt is told to stop (at once if it was)."""
        with self._lock:
            self._on_stop = call
            told = self._why is not None
        if told:
            call()


_CURRENT: contextvars.ContextVar[Attempt] = contextvars.ContextVar("taskrouterx_attempt")


def current_attempt() -> Attempt:
    """The attempt the calling task function runs. RuntimeError outside one."""
    try:
        return _CURRENT.get()
    except LookupError:
        raise RuntimeError("current_attempt() is called from outside a task function") from None


def context_of(attempt: Attempt) -> contextvars.Context:
    """A copy of the current context in which `current_attempt()` is `attempt`."""
    context = contextvars.copy_context()
    context.run(_CURRENT.set, attempt)
    return context
