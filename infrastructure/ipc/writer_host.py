"""The writer process's side of the channel: runs what the HTTP process sends on the node
(commands through the single writer, a few operational calls) and sends back the outcomes,
and a note after every commit.

Commands go straight to the single writer, whose futures resolve after the commit: an
outcome is sent only once it is durable. Outcomes resolved together (one group commit)
leave together, in one message."""

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import structlog

from infrastructure.ipc.channel import Channel, ChannelClosed, Failure
from infrastructure.ipc.protocol import CALL, COMMIT, FAIL, OK, ONCE, STOP, SUBMIT, Parts

log = structlog.get_logger(__name__)

CALL_THREADS = 4
"""Operational calls (health, a rebuild's start, a verification's latest result) may
block; they run beside the commands, never in their way."""


class Outbox:
    """What goes back to the HTTP process: sent by one thread, batched as it comes."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel
        self._items: list[tuple[Any, ...]] = []
        self._committed = False
        self._closed = False
        self._ready = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def put(self, item: tuple[Any, ...]) -> None:
        with self._ready:
            self._items.append(item)
            self._ready.notify()

    def committed(self) -> None:
        with self._ready:
            if not self._committed:
                self._committed = True
                self._ready.notify()

    def close(self, timeout: float = 5.0) -> None:
        """Send what is left, then stop."""
        with self._ready:
            self._closed = True
            self._ready.notify()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._ready:
                self._ready.wait_for(lambda: self._items or self._committed or self._closed)
                items, self._items = self._items, []
                if self._committed:
                    items.append((COMMIT,))
                    self._committed = False
                closed = self._closed
            if items:
                try:
                    self._channel.send(items)
                except ChannelClosed:
                    return
            if closed:
                return


class WriterHost:
    """Serves the HTTP process's messages until it says stop or goes away."""

    def __init__(self, parts: Parts, channel: Channel) -> None:
        self._parts = parts
        self._outbox = Outbox(channel)
        self._calls = ThreadPoolExecutor(CALL_THREADS, thread_name_prefix="call")

    def serve(
        self, messages: Iterator[Any], subscribe: Callable[[Callable[[], None]], Any]
    ) -> None:
        self._outbox.start()
        unsubscribe = subscribe(self._outbox.committed)
        try:
            for batch in messages:
                for message in batch:
                    if message[0] == STOP:
                        return
                    self._handle(message)
        finally:
            unsubscribe()
            self._calls.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        """After the node has stopped: send the last outcomes."""
        self._outbox.close()

    def _handle(self, message: tuple[Any, ...]) -> None:
        kind, call = message[0], message[1]
        if kind == SUBMIT:
            _, _, command, context = message
            self._reply_when_done(call, self._parts.sender.submit(command, context))
        elif kind == ONCE:
            _, _, key, fingerprint, command, context, render = message
            future = self._parts.idempotent.submit_once(key, fingerprint, command, context, render)
            self._reply_when_done(call, future)
        elif kind == CALL:
            _, _, part, method, args = message
            self._reply_when_done(call, self._calls.submit(self._parts.call, part, method, args))
        else:
            log.error("writer_host.unknown_message", kind=kind)

    def _reply_when_done(self, call: int, future: "Future[Any]") -> None:
        put = self._outbox.put

        def done(settled: "Future[Any]") -> None:
            error = settled.exception()
            if error is None:
                put((OK, call, settled.result()))
            else:
                put((FAIL, call, Failure.of(error)))

        future.add_done_callback(done)
