"""Wakes the reactors when the log grows: a condition variable, not a polling loop."""

import threading


class CommitSignal:
    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._position = 0

    def publish(self, position: int) -> None:
        """Announce that the log now reaches `position`."""
        with self._condition:
            if position > self._position:
                self._position = position
            self._condition.notify_all()

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
