"""The single writer: one thread runs every command, so writes never queue on the
database lock and each command sees the effects of the ones before it. A command's future
resolves only after its transaction has committed.

Two lanes: the scheduler and the workers (`Lane.SYSTEM`) go before clients
(`Lane.CLIENT`), so a burst of submissions cannot starve the assignments and completions
that drain it. The client lane is bounded: past `max_backlog` a command is refused at once
with ServiceOverloaded instead of waiting without limit.
"""

import itertools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from enum import IntEnum
from typing import Any, TypeVar

from application.bus import CommandBus
from application.errors import ServiceOverloaded, ServiceStopping
from application.messages import Command, CommandResult, MessageContext

T = TypeVar("T")

_Job = tuple[int, int, Callable[[], Any] | None, "Future[Any] | None"]


class Lane(IntEnum):
    SYSTEM = 0
    CLIENT = 1


class SingleWriter:
    def __init__(self, bus: CommandBus, max_backlog: int = 10_000) -> None:
        self._bus = bus
        self._max_backlog = max_backlog
        self._jobs: queue.PriorityQueue[_Job] = queue.PriorityQueue()
        self._sequence = itertools.count()
        self._client_backlog = 0
        self._thread: threading.Thread | None = None
        self._accepting = False
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            self._accepting = True
            self._thread = threading.Thread(target=self._run, name="single-writer", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting work, finish what is queued, then stop the thread."""
        with self._lock:
            self._accepting = False
            thread, self._thread = self._thread, None
        if thread is not None:
            self._jobs.put((len(Lane), next(self._sequence), None, None))
            thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def backlog(self) -> int:
        return self._jobs.qsize()

    def submit(
        self, command: Command, context: MessageContext, lane: Lane = Lane.CLIENT
    ) -> "Future[CommandResult]":
        return self.run(lambda: self._bus.handle(command, context), lane)

    def run(self, job: Callable[[], T], lane: Lane = Lane.SYSTEM) -> "Future[T]":
        """Run any write job on the writer thread, in turn with the commands."""
        future: Future[T] = Future()
        with self._lock:
            if not self._accepting:
                future.set_exception(ServiceStopping("the service is shutting down"))
                return future
            if lane is Lane.CLIENT:
                if self._client_backlog >= self._max_backlog:
                    future.set_exception(
                        ServiceOverloaded(f"{self._client_backlog} commands are waiting; retry")
                    )
                    return future
                self._client_backlog += 1
            self._jobs.put((lane, next(self._sequence), job, future))
        return future

    def system(self) -> "SystemLane":
        """A CommandSender whose commands go in the system lane (scheduler, workers)."""
        return SystemLane(self)

    def _run(self) -> None:
        while True:
            lane, _, job, future = self._jobs.get()
            if job is None or future is None:
                return
            if lane == Lane.CLIENT:
                with self._lock:
                    self._client_backlog -= 1
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(job())
            except Exception as error:
                future.set_exception(error)


class SystemLane:
    def __init__(self, writer: SingleWriter) -> None:
        self._writer = writer

    def submit(self, command: Command, context: MessageContext) -> "Future[CommandResult]":
        return self._writer.submit(command, context, Lane.SYSTEM)
