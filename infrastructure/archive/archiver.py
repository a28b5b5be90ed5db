"""Writing the log's events up to a cut into archive segments, on from the last complete
segment (see `segments`). The hot log is read in one snapshot and left as it is."""

import fcntl
import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from infrastructure.archive import segments
from infrastructure.archive.segments import Manifest, Row
from infrastructure.sql import chain
from infrastructure.sql.db import reading, sql

LOCK = ".lock"
PACED_ROWS = 1000
SEGMENT_EVENTS = 100_000
"""Events a segment holds at most."""
ROWS = sql(
    f"SELECT {chain.ROW}, hash FROM events WHERE position > ? AND position <= ? ORDER BY position"
)


@dataclass
class ArchiveRun:
    up_to: int
    """The archive holds positions 1..up_to when the run ends."""
    written: list[Manifest] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    """What an interrupted earlier run had left, removed first."""

    @property
    def events(self) -> int:
        return sum(manifest.events for manifest in self.written)

    @property
    def bytes(self) -> int:
        return sum(manifest.bytes for manifest in self.written)


def archive(
    engine: Engine,
    directory: Path,
    up_to: int,
    segment_events: int = SEGMENT_EVENTS,
    progress: Callable[[int], None] | None = None,
    pace: Callable[[], bool] | None = None,
) -> ArchiveRun:
    """Segments for the events after the archive's last one up to position `up_to`, each
    of at most `segment_events`; ValueError if the log does not follow from the archive's
    last hash (or its own chain is broken). `pace` is called every PACED_ROWS rows (it
    may wait; its result is not used: a segment is written whole)."""
    directory.mkdir(parents=True, exist_ok=True)
    with _locked(directory):
        return _archive(engine, directory, up_to, segment_events, progress, pace)


def _paced(rows: Iterator[Row], pace: Callable[[], bool]) -> Iterator[Row]:
    for count, row in enumerate(rows, start=1):
        yield row
        if count % PACED_ROWS == 0:
            pace()


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """One run at a time writes into a directory (another process on this machine waits):
    a run removes what it takes for an interrupted run's leftovers."""
    with (directory / LOCK).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _archive(
    engine: Engine,
    directory: Path,
    up_to: int,
    segment_events: int,
    progress: Callable[[int], None] | None,
    pace: Callable[[], bool] | None,
) -> ArchiveRun:
    removed = segments.remove_incomplete(directory)
    done = segments.manifests(directory)
    start = done[-1].last_position if done else 0
    previous = done[-1].hash_after if done else chain.GENESIS
    run = ArchiveRun(max(start, up_to), removed=removed)
    if up_to <= start:
        run.up_to = start
        return run
    with reading(engine, transaction=True) as db:
        rows: Iterator[Row] = iter(db.execute(ROWS, (start, up_to)))
        if pace is not None:
            rows = _paced(rows, pace)
        while True:
            batch = itertools.islice(rows, segment_events)
            first = next(batch, None)
            if first is None:
                break
            manifest = segments.write(directory, itertools.chain([first], batch), previous)
            run.written.append(manifest)
            previous = manifest.hash_after
            if progress is not None:
                progress(run.events)
    run.up_to = run.written[-1].last_position if run.written else start
    return run
