"""The server is going away. A server told to exit waits for its open responses to finish
before it stops, and the event stream and a lease's long poll would hold it for as long as
their clients stay; told this, they end at once (a stream's client reconnects with
Last-Event-ID to whichever server is up next, a worker polls again).

`announce` runs inside a signal handler, on the thread the handler interrupted: it takes no
lock and only reads the listeners, which are replaced whole (never changed in place) under
the subscribers' lock."""

import signal
import threading
from collections.abc import Callable
from types import FrameType

Listener = Callable[[], None]


class Closing:
    def __init__(self) -> None:
        self._announced = threading.Event()
        self._lock = threading.Lock()
        self._listeners: tuple[Listener, ...] = ()

    @property
    def announced(self) -> bool:
        return self._announced.is_set()

    def announce(self) -> None:
        """Safe from a signal handler and from any thread."""
        self._announced.set()
        for listener in self._listeners:
            listener()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` on the announcement (at once if it was made); returns the
        unsubscribe."""
        with self._lock:
            self._listeners = (*self._listeners, listener)
        if self.announced:
            listener()

        def unsubscribe() -> None:
            with self._lock:
                self._listeners = tuple(one for one in self._listeners if one is not listener)

        return unsubscribe

    def on_exit_signals(self) -> None:
        """Announce on SIGINT and SIGTERM, before the handlers the server installed. Call it
        while the server's handlers are in place (uvicorn calls an app factory after it
        installs them, and restores its predecessors when it stops); only the main thread
        can set signal handlers, so elsewhere this does nothing."""
        if threading.current_thread() is not threading.main_thread():
            return
        for number in (signal.SIGINT, signal.SIGTERM):
            server_handler = signal.getsignal(number)
            if callable(server_handler):
                signal.signal(number, self._chained(server_handler))

    def _chained(
        self, server_handler: Callable[[int, FrameType | None], object]
    ) -> Callable[[int, FrameType | None], None]:
        def handler(number: int, frame: FrameType | None) -> None:
            self.announce()
            server_handler(number, frame)

        return handler
