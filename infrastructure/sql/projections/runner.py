"""Runs the projections: inline in the command's transaction while a projection is
current, and in batches (catch-up, rebuild) while it is behind. Each batch moves the
checkpoint in the same transaction as the rows: exactly once, resumable after a crash."""

import functools
import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol, TypeVar

from sqlalchemy import Engine

from application.errors import UnknownProjection
from infrastructure.codec import stored_data
from infrastructure.runtime import YOUNG_GENERATION_THRESHOLD
from infrastructure.sql import log_start, stored_events
from infrastructure.sql.db import Db, Sql, reading, sql, writing
from infrastructure.sql.projections.base import EventRecord, SqlProjection

Progress = Callable[[int, int], None]
"""Called with (checkpoint, head) after every batch."""

T = TypeVar("T")

READ_BATCH = sql(
    "SELECT position, stream_id, type, schema_version, payload, correlation_id, recorded_at, "
    f"version FROM events WHERE {stored_events.PAGE_AFTER}"
)
REBUILD_BATCH = 2000
"""Events per `apply` in a rebuild: small enough that a batch's parsed payloads stay in
the processor's caches (20,000 took half as long again)."""
SAVE_CHECKPOINT = sql(
    "INSERT INTO checkpoints (name, position) VALUES (?, ?) "
    "ON CONFLICT (name) DO UPDATE SET position = excluded.position"
)


class Execute(Protocol):
    """Runs one write job: directly, or on the single writer in turn with commands."""

    def __call__(self, job: Callable[[], T]) -> T: ...


def _direct(job: Callable[[], T]) -> T:
    return job()


class ProjectionRunner:
    def __init__(
        self, projections: Sequence[SqlProjection], write_engine: Engine, batch_size: int = 5000
    ) -> None:
        self._projections = {projection.name: projection for projection in projections}
        self._write = write_engine
        self.batch_size = batch_size

    @property
    def names(self) -> list[str]:
        return list(self._projections)

    def apply_inline(self, db: Db, records: Sequence[EventRecord], head_before: int) -> None:
        """Apply new events to every projection that is current; skip those catching up."""
        if not records:
            return
        positions = read_checkpoints(db)
        current = [name for name in self._projections if positions.get(name, 0) == head_before]
        for name in current:
            self._projections[name].apply(db, records)
        db.executemany(SAVE_CHECKPOINT, [(name, records[-1].position) for name in current])

    def catch_up(
        self,
        names: Sequence[str],
        progress: Progress | None = None,
        execute: Execute = _direct,
        batch_size: int | None = None,
    ) -> int:
        """Apply the events after the projections' common checkpoint, one batch per
        transaction, reading each batch once for all of them. Returns events applied."""
        for name in names:
            self._get(name)
        applied = 0
        while True:
            checkpoint, head, count = execute(
                lambda: self.apply_batch(names, batch_size or self.batch_size)
            )
            applied += count
            if progress is not None:
                progress(checkpoint, head)
            if count == 0 or checkpoint >= head:
                return applied

    def apply_batch(self, names: Sequence[str], limit: int) -> tuple[int, int, int]:
        """One catch-up transaction; returns (checkpoint, head, events applied)."""
        with writing(self._write) as db:
            positions = read_checkpoints(db)
            checkpoint = min(positions.get(name, 0) for name in names)
            behind = [name for name in names if positions.get(name, 0) == checkpoint]
            head = stored_events.head(db)
            records = [
                record_of(row)
                for row in db.execute(READ_BATCH, {"after": checkpoint, "limit": limit})
            ]
            if records:
                for name in behind:
                    self._projections[name].apply(db, records)
                checkpoint = records[-1].position
                db.executemany(SAVE_CHECKPOINT, [(name, checkpoint) for name in behind])
        return checkpoint, head, len(records)

    def rebuild(
        self,
        names: Sequence[str],
        progress: Progress | None = None,
        execute: Execute = _direct,
        batch_size: int | None = None,
    ) -> int:
        """Empty the projections' tables and replay the whole log into them, in batches
        that each commit with their checkpoint (resumable; a running server interleaves
        its commands between them)."""
        for name in names:
            self._get(name)
        self._refuse_if_archived()
        execute(lambda: self.reset(names))
        return self.catch_up(names, progress, execute, batch_size)

    def rebuild_at_once(self, names: Sequence[str], progress: Progress | None = None) -> int:
        """Empty the projections and fold the whole log into them in one transaction,
        reading it once for all of them, through the same `apply` as every command (the
        read models' folds): the fastest way, for a database no server is writing to.
        Returns the events the rebuilt projections now reflect. On PostgreSQL (whose
        driver would hold the whole log in memory to stream it) this is the batched
        rebuild."""
        if self._write.dialect.name != "sqlite":
            self.rebuild(names, progress)
            with reading(self._write) as db:
                return stored_events.head(db)
        projections = [self._get(name) for name in names]
        self._refuse_if_archived()
        with writing(self._write) as db, rare_collections():
            head = stored_events.head(db)
            self._empty(db, names)
            batch: list[EventRecord] = []
            for record in read_records(db, 0, head):
                batch.append(record)
                if len(batch) == REBUILD_BATCH:
                    for projection in projections:
                        projection.apply(db, batch)
                    if progress is not None:
                        progress(record.position, head)
                    batch = []
            for projection in projections:
                projection.apply(db, batch)
            db.executemany(SAVE_CHECKPOINT, [(name, head) for name in names])
            if progress is not None:
                progress(head, head)
        return head

    def _refuse_if_archived(self) -> None:
        """A rebuild folds the log from position 1: HistoryArchived once older events
        were archived and removed (the read models would lose what they counted)."""
        with reading(self._write) as db:
            start = stored_events.bounds(db)[1]
            if start:
                raise log_start.archived(db, start, 1)

    def reset(self, names: Sequence[str]) -> None:
        """Empty the projections' tables and move their checkpoints back to 0, at once."""
        with writing(self._write) as db:
            self._empty(db, names)
            db.executemany(SAVE_CHECKPOINT, [(name, 0) for name in names])

    def _empty(self, db: Db, names: Sequence[str]) -> None:
        for name in names:
            for table in self._get(name).tables:
                db.execute(_delete_all(table))

    def catch_up_all(self) -> int:
        return sum(self.catch_up([name]) for name in self._projections)

    def _get(self, name: str) -> SqlProjection:
        if name not in self._projections:
            raise UnknownProjection(name, self.names)
        return self._projections[name]


def read_checkpoints(db: Db) -> dict[str, int]:
    return {name: int(position) for name, position in db.execute(CHECKPOINTS)}


CHECKPOINTS = sql("SELECT name, position FROM checkpoints")


@functools.cache
def _delete_all(table: str) -> Sql:
    """Emptying one of a projection's tables (named by the projection, a closed set)."""
    return sql(f"DELETE FROM {table}")


@contextmanager
def rare_collections() -> Iterator[None]:
    """While a rebuild allocates millions of short-lived payloads: the objects alive now
    are frozen out of collections (unless the process froze its own already) and the young
    generation is collected every 50,000 allocations rather than 700."""
    before = gc.get_threshold()
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        if freeze:
            gc.unfreeze()


def read_records(db: Db, low: int, high: int) -> Iterator[EventRecord]:
    """The events at positions (low, high], in order, as the read models fold them."""
    return map(record_of, db.execute(READ_RANGE, (low, high)))


READ_RANGE = sql(
    "SELECT position, stream_id, type, schema_version, payload, correlation_id, recorded_at, "
    "version FROM events WHERE position > ? AND position <= ? ORDER BY position"
)


def record_of(row: tuple[int, str, str, int, str, str, str, int]) -> EventRecord:
    """A row of (position, stream_id, type, schema_version, payload, correlation_id,
    recorded_at, version) as the read models fold it."""
    (position, stream_id, type_name, schema_version, payload, correlation_id, recorded_at,
     version) = row  # fmt: skip
    data = stored_data(type_name, schema_version, payload)
    return EventRecord(position, stream_id, type_name, data, correlation_id, recorded_at, version)
