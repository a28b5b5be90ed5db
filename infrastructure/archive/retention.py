"""Retention in the background: the events recorded more than `after` ago are archived into
segments and removed from the hot log, in bounded batches, by the node that runs the
scheduler (it is started and stopped with the scheduler, so on PostgreSQL only the leader
runs it).

A batch writes the segments for at most `batch_events` events, then removes them in steps
of `step_events` (each its own short write transaction), then returns the freed pages to
the file system on SQLite. It works at most a `duty` share of the time (see `Pacer`), so
submissions keep their latency while a backlog is archived. After a batch that moved the
start it goes on at once; otherwise it looks again every `check_s` seconds. A failed batch
is logged and retried at the next look: every step is crash-safe, so a half-done batch is
finished by the next."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import structlog
from sqlalchemy import Engine

from application.errors import HistoryArchived
from application.ports import Clock
from infrastructure.archive import archiver, removal, segments
from infrastructure.periodic import Periodic
from infrastructure.sql import stored_events
from infrastructure.sql.db import reading
from infrastructure.sql.timestamps import iso

log = structlog.get_logger(__name__)

BATCH_EVENTS = 20_000
"""Events a batch archives at most: its segments are written, then its events removed, so
a long backlog alternates between the two in short stretches."""


@dataclass(frozen=True)
class RetentionRun:
    """The last batch: when it ended, what it archived and removed, and where the hot log
    starts after it (or why it failed)."""

    at: datetime
    archived: int
    removed: int
    bytes: int
    start: int
    seconds: float
    error: str | None = None


class Retention(Periodic):
    name = "retention"

    def __init__(
        self,
        engines_read: Engine,
        engines_write: Engine,
        directory: Path,
        after: timedelta,
        clock: Clock,
        position_at: Callable[[datetime], int],
        check_s: float = 60.0,
        batch_events: int = BATCH_EVENTS,
        step_events: int = 250,
        duty: float = 0.25,
        on_run: Callable[[RetentionRun], None] = lambda run: None,
    ) -> None:
        super().__init__(check_s)
        self._read = engines_read
        self._write = engines_write
        self.directory = directory
        self.after = after
        self._clock = clock
        self._position_at = position_at
        self._batch_events = batch_events
        self._step_events = step_events
        self._duty = duty
        self._on_run = on_run
        self.last: RetentionRun | None = None
        self._started = time.perf_counter()

    def failed(self, error: Exception) -> None:
        self._finished(0, 0, 0, self._started, f"{type(error).__name__}: {error}")

    def run_once(self) -> bool:
        """Archive and remove one batch of what is due; True if the start moved."""
        started = self._started = time.perf_counter()
        try:
            cut = self._position_at(self._clock.now() - self.after)
        except HistoryArchived:
            return False  # everything that old is archived already
        with reading(self._read) as db:
            start = stored_events.bounds(db)[1]
        if cut <= start:
            return False
        up_to = min(cut, start + self._batch_events)
        pace = Pacer(self._duty, self._stop)
        run = archiver.archive(self._read, self.directory, up_to, pace=pace)
        removed = removal.remove(
            self._write,
            segments.manifests(self.directory),
            up_to,
            iso(self._clock.now()),
            self._step_events,
            pace=pace,
            reader=self._read,
        )
        self._reclaim(pace)
        self._finished(run.events, removed.events, run.bytes, started, None, removed.start)
        return removed.events > 0

    def _reclaim(self, pace: "Pacer") -> None:
        """Return the pages the removed rows held to the file system (SQLite databases made
        with incremental auto-vacuum; others keep reusing them)."""
        if self._write.dialect.name != "sqlite":
            return  # PostgreSQL: autovacuum makes the space reusable
        reclaim(self._write, pace)

    def _finished(
        self,
        archived: int,
        removed: int,
        size: int,
        started: float,
        error: str | None,
        start: int | None = None,
    ) -> None:
        last = self.last
        at = start if start is not None else (0 if last is None else last.start)
        self.last = RetentionRun(
            self._clock.now(), archived, removed, size, at, time.perf_counter() - started, error
        )
        self._on_run(self.last)
        if error is None:
            log.info("retention.batch", archived=archived, removed=removed, start=at)


class Pacer:
    """Keeps a background job to a share (`duty`) of the time: each call waits as long as
    the work since the last call, times (1 / duty - 1), so the server's requests get the
    rest of the processor and of the database's write lock. False once `stop` is set."""

    def __init__(self, duty: float, stop: threading.Event) -> None:
        self._rest = 1 / duty - 1
        self._stop = stop
        self._since = time.perf_counter()

    def __call__(self) -> bool:
        stopped = self._stop.wait((time.perf_counter() - self._since) * self._rest)
        self._since = time.perf_counter()
        return not stopped


RECLAIM_PAGES = 256
"""Pages given back per transaction (each holds the write lock while it truncates)."""


def reclaim(engine: Engine, pace: Callable[[], bool] | None = None) -> None:
    """SQLite: give the free pages back to the file system, RECLAIM_PAGES at a time, each
    in a transaction of its own (`pace` between two). The pragma frees a page a step, so
    it runs to completion as a script, not stepped once."""
    pooled = engine.raw_connection()
    try:
        connection = pooled.driver_connection
        assert connection is not None
        while connection.execute("PRAGMA freelist_count").fetchone()[0]:
            connection.executescript(f"PRAGMA incremental_vacuum({RECLAIM_PAGES})")
            if pace is not None and not pace():
                break
    finally:
        pooled.close()
