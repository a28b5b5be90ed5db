"""The single writer: one thread runs every command, in arrival order, so writes never
queue on the database lock and each command sees the effects of the ones before it.
A command's future resolves only after its transaction has committed."""

import queue
import threading
from concurrent.futures import Future

import structlog

from application.bus import CommandBus
from application.errors import ServiceStopping
from application.messages import Command, CommandResult, MessageContext

log = structlog.get_logger(__name__)

_Job = tuple[Command, MessageContext, "Future[CommandResult]"]


class SingleWriter:
    def __init__(self, bus: CommandBus) -> None:
        self._bus = bus
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._accepting = False
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            self._accepting = True
            self._thread = threading.Thread(target=self._run, name="single-writer", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting commands, finish the queued ones, then stop the thread."""
        with self._lock:
            self._accepting = False
            thread, self._thread = self._thread, None
        if thread is not None:
            self._jobs.put(None)
            thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def backlog(self) -> int:
        return self._jobs.qsize()

    def submit(self, command: Command, context: MessageContext) -> "Future[CommandResult]":
        future: Future[CommandResult] = Future()
        with self._lock:
            if not self._accepting:
                future.set_exception(ServiceStopping("the service is shutting down"))
                return future
            self._jobs.put((command, context, future))
        return future

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            command, context, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(self._bus.handle(command, context))
            except Exception as error:
                future.set_exception(error)
