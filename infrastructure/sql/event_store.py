"""The event store on SQL: one append-only table, positions gap-free in commit order.

Appends take the database write lock (BEGIN IMMEDIATE on SQLite), check every stream's
expected version, number the events after the current head, run the inline projections,
and commit, all in one transaction. Only then are readers woken.

Group commit: inside `transaction()` (the single writer opens one around a batch of
commands), appends from that thread share one transaction and one commit (one fsync),
each command isolated in a `savepoint()` so a rejected one leaves no trace; the inline
projections fold the whole batch just before the commit. Nothing is published, and no
command is acknowledged, before that commit. With `at_commit` (the single writer's first
try) the batch's rows go in together as it ends, one statement on PostgreSQL, sent in one
pipeline with the projections' writes: a round trip per command had been most of the time
the events lock was held.

The write path speaks DB-API SQL on the connection SQLAlchemy opened: it runs for every
command, and SQLAlchemy's statement layer would cost more than the work itself.

Optimistic concurrency rests on UNIQUE (stream_id, version): stream versions are dense, so a
stream that moved past the expected version already holds version expected + 1, and the
insert fails (on PostgreSQL it skips that row, since an error would abort the transaction:
fewer rows inserted than sent is the conflict). The append's rows are deleted at once
(nothing else writes inside the transaction), and ConcurrencyConflict says which stream
moved. Rows inserted at commit are checked there: a conflict then rolls the whole batch
back (ConflictAtCommit) for the writer to run it again, each append checked as it is made.
"""

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import orjson
from sqlalchemy import Engine

from application.commit_signal import CommitSignal
from application.errors import ConcurrencyConflict
from application.messages import EventMetadata, MessageContext, RecordedEvent, StreamWrite
from application.ports import Clock, IdGenerator
from application.snapshots import Snapshot
from domain.events import DomainEvent
from infrastructure.codec import encode
from infrastructure.metrics import Metrics
from infrastructure.single_writer import ConflictAtCommit
from infrastructure.sql import chain, snapshots, stored_events
from infrastructure.sql.db import Db, as_json, insert_many, reading, sql
from infrastructure.sql.errors import INTEGRITY_ERRORS, unavailable_on_failure
from infrastructure.sql.projections.base import EventRecord
from infrastructure.sql.timestamps import iso, parse
from infrastructure.sql.write_connection import WriteConnection

NOTIFY_CHANNEL = "taskrouterx_log"
NOTIFY = sql("SELECT pg_notify(?, ?)")
SAVEPOINT = sql("SAVEPOINT command")
ROLLBACK_TO_SAVEPOINT = sql("ROLLBACK TO command")
RELEASE_SAVEPOINT = sql("RELEASE command")
UNDO_APPEND = sql("DELETE FROM events WHERE position > ?")
UNDO_TRACES = sql("DELETE FROM event_traces WHERE position > ?")
TRACE_COLUMNS = ("position", "trace_id", "span_id")
NEWEST_RECORDED_AT = sql("SELECT recorded_at FROM events ORDER BY position DESC LIMIT 1")


class InlineProjections(Protocol):
    def apply_inline(self, db: Db, records: Sequence[EventRecord], head_before: int) -> None: ...


@dataclass
class _Batch:
    db: Db
    start: int
    head: int
    hash: str
    at_commit: bool
    """Rows are inserted when the transaction ends, not by each append."""
    records: list[EventRecord] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    """The rows still to insert (at_commit), in position order."""
    pending: dict[str, list[RecordedEvent]] = field(default_factory=dict)
    """The events of `rows` by stream, so this transaction reads what it appended."""
    traces: list[tuple[int, str, str]] = field(default_factory=list)
    """The traces of `rows`' events (at_commit), inserted with them."""

    def undo_since(self, head: int, hash: str, records: int, rows: int) -> None:
        """Forget the appends after the batch stood at (head, hash, records, rows)."""
        for record in reversed(self.records[records:]):
            events = self.pending.get(record.stream_id)
            if events and events[-1].position == record.position:
                events.pop()
                if not events:
                    del self.pending[record.stream_id]
        del self.records[records:]
        del self.rows[rows:]
        self.traces = [trace for trace in self.traces if trace[0] <= head]
        self.head, self.hash = head, hash


class CachedStates(Protocol):
    """The aggregates' cache, kept current by the store (see Aggregates.sync)."""

    def sync(self, changed: Sequence[str] | None) -> None: ...

    def unsync(self) -> None: ...

    def forget(self, stream_ids: Sequence[str]) -> None: ...


FOREIGN_STREAMS_LIMIT = 10_000
"""Events appended by others between two transactions that are looked at one by one; past
that the cache is forgotten whole."""
APPENDED_AFTER = sql("SELECT stream_id FROM events WHERE position > ? AND position <= ?")


class SqlEventStore:
    def __init__(
        self,
        write_engine: Engine,
        read_engine: Engine,
        clock: Clock,
        ids: IdGenerator,
        signal: CommitSignal,
        projections: InlineProjections | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._metrics = metrics
        self._writes = WriteConnection(write_engine)
        self._on_postgres = write_engine.dialect.name != "sqlite"  # the other database supported
        self._read = read_engine
        self._clock = clock
        self._ids = ids
        self._signal = signal
        self._projections = projections
        self._local = threading.local()
        self._last_stamp: datetime | None = None
        self._cached: CachedStates | None = None
        self._known_head: int | None = None
        """The head this process's last commit left (None before its first)."""

    def keep_current(self, cached: CachedStates) -> None:
        """Tell `cached` at the start of every write transaction which streams others
        wrote since this process's last commit, and which a failed command undid."""
        self._cached = cached

    def append(self, writes: Sequence[StreamWrite], context: MessageContext) -> list[RecordedEvent]:
        batch: _Batch | None = getattr(self._local, "batch", None)
        if batch is not None:
            if batch.at_commit:
                _check_pending(batch, writes)
            with unavailable_on_failure():  # a full disk may refuse the insert itself
                recorded, records, rows, last = self._rows(
                    batch.db, writes, context, batch.head, batch.hash
                )
                if not batch.at_commit:
                    self._insert(batch.db, rows, writes, batch.head)
                    _insert_traces(batch.db, _traces(context, recorded))
            if recorded:
                batch.head, batch.hash = recorded[-1].position, last
                batch.records.extend(records)
                if batch.at_commit:
                    batch.rows.extend(rows)
                    batch.traces.extend(_traces(context, recorded))
                    for event in recorded:
                        batch.pending.setdefault(event.stream_id, []).append(event)
            return recorded
        started = time.perf_counter()
        with self._writes.transaction() as db:
            locked = time.perf_counter()
            head_before, previous = chain.tip(db)
            recorded, records, rows, _ = self._rows(db, writes, context, head_before, previous)
            self._insert(db, rows, writes, head_before)
            _insert_traces(db, _traces(context, recorded))
            if records and self._projections is not None:
                self._projections.apply_inline(db, records, head_before)
            if recorded:
                self._announce(db, recorded[-1].position)
        if recorded:
            self._committed(records, started, locked)
        return recorded

    @contextmanager
    def transaction(self, wait_s: float | None = None, at_commit: bool = False) -> Iterator[None]:
        """Appends from this thread share one transaction, committed on exit; it waits at
        most `wait_s` (default: the busy timeout) for the database's write lock.

        `at_commit`: the appends' rows go in together as the transaction ends (one
        statement, not one round trip per command). An append whose stream this
        transaction already wrote is checked at once; any other conflict shows only then,
        as ConflictAtCommit: nothing was written, and the work must run again without
        `at_commit`, where each append is checked as it is made."""
        started = time.perf_counter()
        with self._writes.transaction(wait_s) as db:
            locked = time.perf_counter()
            start, last = chain.tip(db)
            batch = _Batch(db, start, start, last, at_commit)
            self._local.batch = batch
            if self._cached is not None:
                self._cached.sync(self._foreign_streams(db, start))
            try:
                yield
                # One round trip for what is left on PostgreSQL (but for the reads the
                # projections make), instead of one per statement.
                with _conflicts_at_commit(batch.rows), db.pipeline():
                    if batch.rows:
                        self._insert_at_commit(db, batch.rows)
                        _insert_traces(db, batch.traces)
                    if batch.records and self._projections is not None:
                        self._projections.apply_inline(db, batch.records, start)
                    if batch.head > start:
                        self._announce(db, batch.head)
            except BaseException:
                self._undone(batch.records)  # rolled back
                raise
            finally:
                self._local.batch = None
                if self._cached is not None:
                    self._cached.unsync()
        self._known_head = batch.head
        if batch.head > start:
            self._committed(batch.records, started, locked)

    def _foreign_streams(self, db: Db, head: int) -> list[str] | None:
        """The streams appended to by others between this process's last commit and
        `head` (positions are dense, so all of them were read exactly when there are as
        many as positions); None when not known."""
        known = self._known_head
        if known is None or head < known or head - known > FOREIGN_STREAMS_LIMIT:
            return None
        if head == known:
            return []
        streams = [stream for (stream,) in db.execute(APPENDED_AFTER, (known, head))]
        return streams if len(streams) == head - known else None

    def _committed(self, records: Sequence[EventRecord], started: float, locked: float) -> None:
        """Count a committed transaction begun at `started` that took the write lock at
        `locked`, and wake the readers."""
        if self._metrics is not None:
            done = time.perf_counter()
            self._metrics.committed([record.type for record in records], done - started,
                                    done - locked)  # fmt: skip
        self._signal.publish(records[-1].position)

    def close(self) -> None:
        self._writes.close()

    def _announce(self, db: Db, head: int) -> None:
        """On PostgreSQL, tell the other nodes at commit (NOTIFY is transactional)."""
        if self._on_postgres:
            db.execute(NOTIFY, (NOTIFY_CHANNEL, str(head)))

    def transaction_db(self) -> Db:
        """The connection of the transaction open on this thread (inside `transaction()`),
        for writes that must commit with the events."""
        batch: _Batch | None = getattr(self._local, "batch", None)
        if batch is None:
            raise RuntimeError("no write transaction is open on this thread")
        return batch.db

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Inside `transaction()`: undo this block's appends if it raises.

        On PostgreSQL without a savepoint (SAVEPOINT and RELEASE are two round trips per
        command, under the events lock): a command that raises after appending has its
        events deleted again, which is all it wrote (an idempotency record is written
        last, by what cannot raise after it). A failed statement aborts PostgreSQL's
        whole transaction; then that delete fails too, and so does the batch: none of it
        is acknowledged."""
        batch: _Batch = self._local.batch
        head, last, recorded, rows = batch.head, batch.hash, len(batch.records), len(batch.rows)
        if self._on_postgres:
            try:
                yield
            except BaseException:
                self._undone(batch.records[recorded:])
                if batch.head > head and not batch.at_commit:
                    with unavailable_on_failure():
                        batch.db.execute(UNDO_APPEND, (head,))
                        batch.db.execute(UNDO_TRACES, (head,))
                batch.undo_since(head, last, recorded, rows)
                raise
            return
        with unavailable_on_failure():
            batch.db.execute(SAVEPOINT)
            try:
                yield
            except BaseException:
                self._undone(batch.records[recorded:])
                batch.db.execute(ROLLBACK_TO_SAVEPOINT)
                batch.db.execute(RELEASE_SAVEPOINT)
                batch.undo_since(head, last, recorded, rows)
                raise
            batch.db.execute(RELEASE_SAVEPOINT)

    def _undone(self, records: Sequence[EventRecord]) -> None:
        """A command's appends are being undone: the cache must not keep what they left."""
        if records and self._cached is not None:
            self._cached.forget(sorted({record.stream_id for record in records}))

    def read_stream(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
        batch: _Batch | None = getattr(self._local, "batch", None)
        pending = None if batch is None else batch.pending.get(stream_id)
        if pending is None:
            with self._as_this_transaction() as db:
                return stored_events.read_stream(db, stream_id, after_version)
        assert batch is not None
        stored = []
        if pending[0].version > after_version + 1:  # the stream has stored events wanted
            with unavailable_on_failure():
                stored = stored_events.read_stream(batch.db, stream_id, after_version)
        return stored + [event for event in pending if event.version > after_version]

    def latest(self, stream_id: str) -> Snapshot | None:
        """The stream's newest snapshot (see `snapshots`), read as `read_stream` reads."""
        with self._as_this_transaction() as db:
            return snapshots.latest(db, stream_id)

    @contextmanager
    def _as_this_transaction(self) -> Iterator[Db]:
        """The connection to read on: this thread's open write transaction, so a command
        sees what its batch wrote so far, else a read connection."""
        batch: _Batch | None = getattr(self._local, "batch", None)
        if batch is not None:
            yield batch.db
            return
        with reading(self._read) as db:
            yield db

    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        with reading(self._read) as db:
            return stored_events.read_all(db, after_position, limit)

    def read_types(
        self, after_position: int, types: frozenset[str], limit: int = 1000
    ) -> tuple[list[RecordedEvent], int]:
        with reading(self._read, transaction=True) as db:
            return stored_events.read_types(db, after_position, types, limit)

    def head(self) -> int:
        with reading(self._read) as db:
            return stored_events.head(db)

    def _rows(
        self,
        db: Db,
        writes: Sequence[StreamWrite],
        context: MessageContext,
        head_before: int,
        previous: str,
    ) -> tuple[list[RecordedEvent], list[EventRecord], list[tuple[Any, ...]], str]:
        """The events numbered after `head_before` and chained after `previous`: as
        returned, as projected, as stored, and the last one's hash."""
        recorded: list[RecordedEvent] = []
        rows: list[tuple[Any, ...]] = []
        records: list[EventRecord] = []
        for position, stream_id, version, event, metadata in self._number(
            writes, context, head_before, self._stamp(db)
        ):
            payload = encode(event)
            data = orjson.loads(payload)
            at = iso(metadata.recorded_at)
            row = (position, stream_id, version, event.type_name(), event.schema_version,
                   payload, metadata.event_id, metadata.correlation_id, metadata.causation_id,
                   metadata.actor, at)  # fmt: skip
            previous = chain.link(previous, row)
            rows.append((*row, previous))
            recorded.append(RecordedEvent.of(position, stream_id, version, event, metadata, data))
            records.append(
                EventRecord(position, stream_id, event.type_name(), data,
                            metadata.correlation_id, at, version)
            )  # fmt: skip
        return recorded, records, rows, previous

    def _insert(
        self, db: Db, rows: Sequence[tuple[Any, ...]], writes: Sequence[StreamWrite], head: int
    ) -> None:
        """Insert one append's rows now; ConcurrencyConflict (and nothing written) if a
        stream moved past its expected version."""
        if self._on_postgres:
            # An error would abort PostgreSQL's whole transaction (a savepoint around
            # every append costs two round trips under the lock): a row whose stream
            # version is taken is skipped instead, and the append undone.
            taken = db.execute(
                stored_events.INSERT_JSON_UNLESS_TAKEN, (as_json(stored_events.STORED, rows),)
            )
            if taken.rowcount != len(rows):
                db.execute(UNDO_APPEND, (head,))
                raise self._conflict(db, writes)
            return
        try:
            db.executemany(stored_events.INSERT, rows)
        except INTEGRITY_ERRORS:
            db.execute(UNDO_APPEND, (head,))
            raise self._conflict(db, writes) from None

    def _insert_at_commit(self, db: Db, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert a whole transaction's rows, in one statement on PostgreSQL. A stream
        that had moved raises IntegrityError (on PostgreSQL perhaps only as the
        pipeline it is sent in ends)."""
        insert_many(db, "events", stored_events.STORED, rows)

    def _conflict(self, db: Db, writes: Sequence[StreamWrite]) -> ConcurrencyConflict:
        for write in writes:
            actual = stored_events.current_version(db, write.stream_id)
            if actual != write.expected_version:
                return ConcurrencyConflict(write.stream_id, write.expected_version, actual)
        return ConcurrencyConflict(writes[0].stream_id, writes[0].expected_version, -1)

    def _stamp(self, db: Db) -> datetime:
        """Now, but never before the newest stored event: recorded_at follows position
        order even if the wall clock steps back, so a time maps to a position by bisection."""
        if self._last_stamp is None:
            row = db.execute(NEWEST_RECORDED_AT)
            newest = row.fetchone()
            self._last_stamp = parse(newest[0]) if newest else self._clock.now()
        self._last_stamp = max(self._clock.now(), self._last_stamp)
        return self._last_stamp

    def _number(
        self,
        writes: Sequence[StreamWrite],
        context: MessageContext,
        head_before: int,
        now: datetime,
    ) -> Iterator[tuple[int, str, int, DomainEvent, EventMetadata]]:
        """Each event to append with its position, stream, version and metadata."""
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
                    context.trace,
                )
                yield position, write.stream_id, write.expected_version + offset, event, metadata


def _check_pending(batch: _Batch, writes: Sequence[StreamWrite]) -> None:
    """ConcurrencyConflict if a stream this transaction appended to is not at the
    version the write expects (the rows are not in the table yet to refuse it)."""
    for write in writes:
        events = batch.pending.get(write.stream_id)
        if events and events[-1].version != write.expected_version:
            raise ConcurrencyConflict(write.stream_id, write.expected_version, events[-1].version)


@contextmanager
def _conflicts_at_commit(rows: Sequence[Any]) -> Iterator[None]:
    """A constraint refusing the block's statements, with rows inserted at commit, is
    taken for a stream moved past a version a command expected (run again checked,
    anything else shows as itself)."""
    try:
        yield
    except INTEGRITY_ERRORS:
        if not rows:
            raise
        raise ConflictAtCommit() from None


def _traces(
    context: MessageContext, recorded: Sequence[RecordedEvent]
) -> list[tuple[int, str, str]]:
    """The `event_traces` rows of events appended under `context` (none untraced)."""
    trace = context.trace
    if trace is None:
        return []
    return [(event.position, trace.trace_id, trace.span_id) for event in recorded]


def _insert_traces(db: Db, traces: Sequence[tuple[int, str, str]]) -> None:
    if traces:
        insert_many(db, "event_traces", TRACE_COLUMNS, traces)
