"""A job that runs in the background on a thread of its own, again and again: at once
after a round that found more to do, else after `check_s` seconds. A failed round is
logged (and handed to `failed`) and retried at the next look."""

import threading
from abc import ABC, abstractmethod

import structlog

log = structlog.get_logger(__name__)


class Periodic(ABC):
    name = "periodic"

    def __init__(self, check_s: float) -> None:
        self.check_s = check_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @abstractmethod
    def run_once(self) -> bool:
        """One round; True if there may be more to do at once."""

    def failed(self, error: Exception) -> None:  # noqa: B027 (a hook: most jobs need none)
        """A round raised `error` (logged already)."""

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                more = self.run_once()
            except Exception as error:  # a busy or full database, a full disk: next look
                log.warning(f"{self.name}.failed", error=f"{type(error).__name__}: {error}")
                self.failed(error)
                more = False
            self._stop.wait(0 if more else self.check_s)
