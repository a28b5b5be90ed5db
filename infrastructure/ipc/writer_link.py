"""The HTTP process's side of the channel: starts the writer process, sends it commands and
calls, and resolves each one's future when its outcome comes back.

If the writer process goes away unasked, every waiting future fails with OutcomeUnknown (a
503: nothing is claimed done, and a retry with the same Idempotency-Key settles it) and
`on_lost` is told."""

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import structlog

from application.errors import OutcomeUnknown, StoreUnavailable
from infrastructure.ipc import children
from infrastructure.ipc.channel import Channel, ChannelClosed, Failure
from infrastructure.ipc.protocol import CALL, COMMIT, FAIL, FAILED, OK
from infrastructure.settings import Settings

log = structlog.get_logger(__name__)

CALL_TIMEOUT_S = 10.0


class WriterFailed(Exception):
    """The writer process could not start the node."""


class WriterLink:
    def __init__(
        self,
        settings: Settings,
        on_commit: Callable[[], None],
        on_lost: Callable[[str], None],
    ) -> None:
        self._settings = settings
        self._on_commit = on_commit
        self._on_lost = on_lost
        self._calls = itertools.count()
        self._pending: dict[int, Future[Any]] = {}
        self._channel: Channel | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._stopping = False
        self._gone: str | None = "the writer process has not started"
        self._outgoing: list[tuple[Any, ...]] = []
        self._flushing = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._flush_due = False

    def start(self) -> dict[str, Any]:
        """Start the writer process and wait until its node has started; returns what it
        said of itself. WriterFailed if it could not start."""
        # the verifier that follows the log runs in a process of its own (verifier_link)
        settings = self._settings.model_copy(update={"verify_continuously": False})
        self._process, self._channel = children.spawn("infrastructure.ipc.writer_process", settings)
        messages = self._channel.messages()
        first = next(messages, None)
        if first is None or first[0] == FAILED:
            code = self._process.wait()
            why = f"exited with code {code}" if first is None else first[1]
            self._channel.close()
            raise WriterFailed(f"the writer process could not start: {why}")
        self._gone = None
        try:  # messages sent from the event loop leave together, once per turn of the loop
            self._loop = asyncio.get_running_loop()
            self._loop_thread = threading.get_ident()
        except RuntimeError:
            self._loop = None
        self._reader = threading.Thread(
            target=self._read, args=(messages,), name="writer-link", daemon=True
        )
        self._reader.start()
        facts: dict[str, Any] = first[1]
        return facts

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def send(self, kind: str, *args: Any) -> "Future[Any]":
        """Send a message that expects an outcome; its future resolves with it."""
        future: Future[Any] = Future()
        if self._gone is not None or self._channel is None:
            future.set_exception(StoreUnavailable(self._gone or "not started"))
            return future
        call = next(self._calls)
        self._pending[call] = future
        self._outgoing.append((kind, call, *args))
        if self._loop is not None and threading.get_ident() == self._loop_thread:
            if not self._flush_due:
                self._flush_due = True
                self._loop.call_soon(self._flush)
        else:
            self._flush()
        return future

    def _flush(self) -> None:
        """Send what is waiting, in one message."""
        self._flush_due = False
        with self._flushing:
            outgoing, self._outgoing = self._outgoing, []
            if not outgoing or self._channel is None:
                return
            try:
                self._channel.send(outgoing)
            except ChannelClosed:
                self._gone = self._gone or "the writer process has gone away"
        if self._gone is not None:  # lost while sending
            for message in outgoing:
                future = self._pending.pop(message[1], None)
                if future is not None and not future.done():
                    future.set_exception(OutcomeUnknown(self._gone))

    def call(self, part: str, method: str, *args: Any, timeout_s: float = CALL_TIMEOUT_S) -> Any:
        """An operational call, waited for."""
        try:
            return self.send(CALL, part, method, args).result(timeout_s)
        except FutureTimeout:
            raise StoreUnavailable(
                f"the writer process did not answer {part}.{method} in {timeout_s:g} s"
            ) from None

    def stop(self, timeout_s: float = 30.0) -> None:
        """Ask the writer process to stop its node (it finishes the queued commands) and
        wait for it to exit; killed if it does not in time."""
        self._stopping = True
        process, channel = self._process, self._channel
        if process is None or channel is None:
            return
        self._flush()
        children.stop(process, channel, timeout_s)
        if self._reader is not None:
            self._reader.join(5)

    def _read(self, messages: Any) -> None:
        pending = self._pending
        for batch in messages:
            for item in batch:
                kind = item[0]
                if kind == OK:
                    future = pending.pop(item[1], None)
                    if future is not None:
                        future.set_result(item[2])
                elif kind == FAIL:
                    future = pending.pop(item[1], None)
                    if future is not None:
                        failure: Failure = item[2]
                        future.set_exception(failure.error())
                elif kind == COMMIT:
                    self._on_commit()
        self._lost()

    @property
    def lost(self) -> str | None:
        """Why the writer process went away unasked (None while it runs, or if asked)."""
        return None if self._stopping else self._gone

    def _lost(self) -> None:
        code = None
        if self._process is not None:
            try:
                code = self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
        why = (
            "the writer process has stopped"
            if self._stopping
            else f"the writer process exited unexpectedly (code {code})"
        )
        self._gone = why
        unknown = f"{why} before answering: the command may or may not have been committed"
        for call in list(self._pending):
            future = self._pending.pop(call, None)
            if future is not None and not future.done():
                future.set_exception(OutcomeUnknown(unknown))
        if not self._stopping:
            log.error("writer_process.lost", code=code, pid=self.pid)
            self._on_lost(why)


def exit_this_process() -> None:
    """Stop the server as on SIGTERM: it stops accepting, answers what it can (503 for
    commands, which can no longer commit) and shuts down."""
    os.kill(os.getpid(), signal.SIGTERM)


def exit_failed(why: str) -> None:
    """At the end of that shutdown: exit with status 1, saying why in one line, so a
    supervisor sees the node failed (and restarts it)."""
    print(f"error: {why}; the server stopped", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(1)
