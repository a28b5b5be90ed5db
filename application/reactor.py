"""The shared loop of the long-running reactors: follow the log from a position, act, and
sleep on the commit signal until the log grows or a deadline comes."""

import threading
from abc import ABC, abstractmethod

import structlog

from application.commit_signal import CommitSignal
from application.messages import RecordedEvent
from application.ports import EventStore

log = structlog.get_logger(__name__)

RETRY_AFTER_ERROR_S = 1.0


class Reactor(ABC):
    name = "reactor"
    interests: frozenset[str] | None = None
    """The event types the reactor folds; None for all of them."""

    def __init__(self, store: EventStore, signal: CommitSignal, page_size: int = 1000) -> None:
        self._store = store
        self._signal = signal
        self._page_size = page_size
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.position = 0
        self.last_error: str | None = None

    @abstractmethod
    def restore(self) -> None:
        """Load start-up state and set `position` to the log position it reflects."""

    @abstractmethod
    def apply(self, recorded: RecordedEvent) -> None:
        """Fold one event into the reactor's state."""

    @abstractmethod
    def act(self) -> float | None:
        """Do the work the state calls for; return seconds until a deadline, if any."""

    def catch_up(self) -> bool:
        """Apply every event after `position`; True if the log had moved on."""
        if self.interests is not None:
            return self._catch_up_on(self.interests)
        applied = False
        while batch := self._store.read_all(self.position, self._page_size):
            for event in batch:
                self.apply(event)
                self.position = event.position
            applied = True
        return applied

    def _catch_up_on(self, types: frozenset[str]) -> bool:
        start = self.position
        while True:
            batch, reached = self._store.read_types(self.position, types, self._page_size)
            for event in batch:
                self.apply(event)
            self.position = reached
            if len(batch) < self._page_size:
                return self.position > start

    def run_once(self) -> float | None:
        self.catch_up()
        return self.act()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._signal.wake_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        restored = False
        while not self._stop.is_set():
            try:
                if not restored:
                    self.restore()
                    restored = True
                deadline = self.run_once()
                self.last_error = None
            except Exception as error:
                self.last_error = f"{type(error).__name__}: {error}"
                log.exception(f"{self.name}.error")
                self._stop.wait(RETRY_AFTER_ERROR_S)
                continue
            self._signal.wait_beyond(self.position, self._stop, deadline)
