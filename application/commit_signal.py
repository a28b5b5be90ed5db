"""Wakes the reactors when the log grows: a condition variable, not a polling loop."""

import threading
from collections.abc import Callable


class CommitSignal:
    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._position = 0
        self._listeners: dict[int, Callable[[], None]] = {}
        self._next = 0

    def publish(self, position: int) -> None:
        """Announce that the log now reaches `position`."""
        with self._condition:
            if position > self._position:
                self._position = position
            self._condition.notify_all()
            listeners = list(self._listeners.values())
        for listener in listeners:
            listener()

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` (on the publishing thread; it must be quick) after every commit
        until the returned function is called."""
        with self._condition:
            key = self._next
            self._next += 1
            self._listeners[key] = listener

        def unsubscribe() -> None:
            with self._condition:
                self._listeners.pop(key, None)

        return unsubscribe

    def wait_beyond(
        self, position: int, stop: threading.Event, timeout: float | None = None
    ) -> bool:
        """Block until the log passes `position`, `stop` is set, or `timeout` elapses."""
        with self._condition:
            return self._condition.wait_for(
                lambda: self._position > position or stop.is_set(), timeout
            )

    def wake_all(self) -> None:
        with self._condition:
            self._condition.notify_all()
