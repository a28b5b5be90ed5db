"""The server is going away. A server told to exit waits for its open responses to finish
before it stops, and the event stream and a lease's long poll would hold it for as long as
their clients stay; told this, they end at once (a stream's client reconnects with
Last-Event-ID to whichever server is up next, a worker polls again). The CLI's server
announces it when it receives SIGINT or SIGTERM."""

import threading
from collections.abc import Callable


class Closing:
    def __init__(self) -> None:
        self._announced = threading.Event()
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    @property
    def announced(self) -> bool:
        return self._announced.is_set()

    def announce(self) -> None:
        """Safe from a signal handler and from any thread."""
        self._announced.set()
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` on the announcement (at once if it was made); returns the
        unsubscribe."""
        with self._lock:
            self._listeners.append(listener)
        if self.announced:
            listener()

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe
