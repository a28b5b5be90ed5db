"""The shared loop of the long-running reactors: follow the log from a position, act, and
sleep on the commit signal until the log grows or a deadline comes.

When a round fails for a reason other than a rule (a busy or full database, a lost
connection), the reactor has put its work back (the task in its queue, the slot on its
board, the due time in its heap) and raised: the loop records the failure, where health and
metrics show it while it lasts, and retries after a backoff that doubles from
`BACKOFF_FIRST_S` up to `BACKOFF_MAX_S`. The first round that succeeds clears it."""

import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

import structlog

from application.commit_signal import CommitSignal
from application.errors import HistoryArchived, StoreUnavailable
from application.messages import RecordedEvent
from application.ports import EventStore

log = structlog.get_logger(__name__)

BACKOFF_FIRST_S = 0.05
BACKOFF_MAX_S = 5.0


def backoff_s(failures: int) -> float:
    """Seconds to wait after the n-th failure in a row."""
    return min(BACKOFF_FIRST_S * 2.0 ** min(failures - 1, 30), BACKOFF_MAX_S)


@dataclass(frozen=True)
class Failing:
    """A reactor whose rounds fail: since when (wall clock), how many in a row, the last."""

    since: float
    failures: int
    error: str
    retry_in_s: float


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
        self.failing: Failing | None = None
        """Set while rounds fail; None once one succeeds."""
        self.failures_total = 0

    @property
    def last_error(self) -> str | None:
        failing = self.failing
        return None if failing is None else failing.error

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
        """Apply every event after `position`; True if the log had moved on. If events
        it had not applied were archived meanwhile, it restores its state afresh."""
        try:
            if self.interests is not None:
                return self._catch_up_on(self.interests)
            applied = False
            while batch := self._store.read_all(self.position, self._page_size):
                if batch[0].position > self.position + 1:  # positions are dense
                    raise HistoryArchived(batch[0].position - 1, self.position + 1)
                for event in batch:
                    self.apply(event)
                    self.position = event.position
                applied = True
            return applied
        except HistoryArchived as archived:
            log.info(f"{self.name}.restoring", reason=str(archived))
            self.restore()
            return True

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
            except Exception as error:
                self._stop.wait(self._failed(error))
                continue
            if self.failing is not None:
                log.info(f"{self.name}.recovered", failures=self.failing.failures)
                self.failing = None
            self._signal.wait_beyond(self.position, self._stop, deadline)

    def _failed(self, error: Exception) -> float:
        """Record a failed round; returns the seconds to wait before the next."""
        previous = self.failing
        failures = 1 if previous is None else previous.failures + 1
        delay = backoff_s(failures)
        since = time.time() if previous is None else previous.since
        self.failing = Failing(since, failures, f"{type(error).__name__}: {error}", delay)
        self.failures_total += 1
        if isinstance(error, StoreUnavailable):
            log.warning(f"{self.name}.failing", error=str(error), failures=failures,
                        retry_in_s=delay)  # fmt: skip
        else:
            log.exception(f"{self.name}.error", failures=failures, retry_in_s=delay)
        return delay
