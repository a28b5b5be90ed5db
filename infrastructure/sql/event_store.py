"""The event store on SQL: one append-only table, positions gap-free in commit order.

Appends take the database write lock (BEGIN IMMEDIATE on SQLite), check every stream's
expected version, number the events after the current head, run the inline projections,
and commit, all in one transaction. Only then are readers woken.

Group commit: inside `transaction()` (the single writer opens one around a batch of
commands), appends from that thread share one transaction and one commit (one fsync),
each command isolated in a `savepoint()` so a rejected one leaves no trace. Nothing is
published, and no command is acknowledged, before that commit.
"""

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, insert, select

from application.commit_signal import CommitSignal
from application.errors import ConcurrencyConflict
from application.messages import EventMetadata, MessageContext, RecordedEvent, StreamWrite
from application.ports import Clock, IdGenerator
from infrastructure.codec import encode
from infrastructure.sql.errors import connect, unavailable_on_failure
from infrastructure.sql.log import COLUMNS, current_version, head, read_all, to_recorded
from infrastructure.sql.schema import events
from infrastructure.sql.timestamps import iso


class InlineProjections(Protocol):
    def apply_inline(
        self, connection: Connection, recorded: Sequence[RecordedEvent], head_before: int
    ) -> None: ...


@dataclass
class _Batch:
    connection: Connection
    head: int


class SqlEventStore:
    def __init__(
        self,
        write_engine: Engine,
        read_engine: Engine,
        clock: Clock,
        ids: IdGenerator,
        signal: CommitSignal,
        projections: InlineProjections | None = None,
    ) -> None:
        self._write = write_engine
        self._read = read_engine
        self._clock = clock
        self._ids = ids
        self._signal = signal
        self._projections = projections
        self._local = threading.local()

    def append(self, writes: Sequence[StreamWrite], context: MessageContext) -> list[RecordedEvent]:
        batch: _Batch | None = getattr(self._local, "batch", None)
        if batch is not None:
            recorded = self._write_events(batch.connection, writes, context, batch.head)
            if recorded:
                batch.head = recorded[-1].position
            return recorded
        with unavailable_on_failure(), self._write.begin() as connection:
            recorded = self._write_events(connection, writes, context, head(connection))
        if recorded:
            self._signal.publish(recorded[-1].position)
        return recorded

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Appends from this thread share one transaction, committed on exit."""
        with unavailable_on_failure(), self._write.begin() as connection:
            batch = _Batch(connection, head(connection))
            start = batch.head
            self._local.batch = batch
            try:
                yield
            finally:
                self._local.batch = None
        if batch.head > start:
            self._signal.publish(batch.head)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Inside `transaction()`: undo this block's appends if it raises."""
        batch: _Batch = self._local.batch
        head_before = batch.head
        with unavailable_on_failure():
            savepoint = batch.connection.begin_nested()
            try:
                yield
            except BaseException:
                savepoint.rollback()
                batch.head = head_before
                raise
            savepoint.commit()

    def read_stream(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
        query = (
            select(*COLUMNS)
            .where(events.c.stream_id == stream_id, events.c.version > after_version)
            .order_by(events.c.version)
        )
        batch: _Batch | None = getattr(self._local, "batch", None)
        if batch is not None:
            return [to_recorded(row) for row in batch.connection.execute(query)]
        with connect(self._read) as connection:
            return [to_recorded(row) for row in connection.execute(query)]

    def _write_events(
        self,
        connection: Connection,
        writes: Sequence[StreamWrite],
        context: MessageContext,
        head_before: int,
    ) -> list[RecordedEvent]:
        for write in writes:
            actual = current_version(connection, write.stream_id)
            if actual != write.expected_version:
                raise ConcurrencyConflict(write.stream_id, write.expected_version, actual)
        recorded = self._number(writes, context, head_before)
        if recorded:
            connection.execute(insert(events), [_row(event) for event in recorded])
            if self._projections is not None:
                self._projections.apply_inline(connection, recorded, head_before)
        return recorded

    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        with connect(self._read) as connection:
            return read_all(connection, after_position, limit)

    def head(self) -> int:
        with connect(self._read) as connection:
            return head(connection)

    def _number(
        self, writes: Sequence[StreamWrite], context: MessageContext, head_before: int
    ) -> list[RecordedEvent]:
        now = self._clock.now()
        recorded: list[RecordedEvent] = []
        position = head_before
        for write in writes:
            for offset, event in enumerate(write.events, start=1):
                position += 1
                metadata = EventMetadata(
                    self._ids.new_id(),
                    context.correlation_id,
                    context.causation_id,
                    context.actor,
                    now,
                )
                recorded.append(
                    RecordedEvent(
                        position, write.stream_id, write.expected_version + offset, event, metadata
                    )
                )
        return recorded


def _row(recorded: RecordedEvent) -> dict[str, Any]:
    return {
        "position": recorded.position,
        "stream_id": recorded.stream_id,
        "version": recorded.version,
        "type": recorded.type,
        "schema_version": recorded.schema_version,
        "payload": encode(recorded.event),
        "event_id": recorded.metadata.event_id,
        "correlation_id": recorded.metadata.correlation_id,
        "causation_id": recorded.metadata.causation_id,
        "actor": recorded.metadata.actor,
        "recorded_at": iso(recorded.metadata.recorded_at),
    }
