"""Reading the events table on a caller's DB-API connection (inside its transaction)."""

import functools
from collections.abc import Iterator, Sequence
from typing import Any, overload

import orjson

from application.errors import CorruptEvent, HistoryArchived
from application.messages import EventMetadata, RecordedEvent
from domain.events import EVENT_TYPES, DomainEvent
from infrastructure.codec import decode, event_of, stored_data
from infrastructure.sql.chain import COLUMNS
from infrastructure.sql.chain import link as chain_link
from infrastructure.sql.db import Db, Sql, insert_from_json, insert_into, marks, sql
from infrastructure.sql.timestamps import parse

SELECT = f"SELECT {', '.join(COLUMNS)} FROM events"
STREAM = sql(f"{SELECT} WHERE stream_id = ? AND version > ? ORDER BY version")
PAGE_AFTER = (
    "position > :after AND position <= COALESCE((SELECT CASE WHEN position > :after "
    "THEN position ELSE :after END FROM log_start WHERE id = 1), :after) + :limit "
    "ORDER BY position LIMIT :limit"
)
"""The `:limit` events after position `:after` (from the oldest kept, if it was archived).
`ORDER BY position LIMIT` alone let PostgreSQL's planner, with the newest positions past
its statistics, scan and sort the whole table for a page at the head: positions are dense,
so the upper bound is exact and keeps every plan on the index, its cost that of the page."""
AFTER = sql(f"{SELECT} WHERE {PAGE_AFTER}")
HEAD = sql(
    "SELECT COALESCE(MAX(position), (SELECT position FROM log_start WHERE id = 1), 0) FROM events"
)
"""The newest position: with no event in the hot log, the last one archived."""
BOUNDS = sql(
    "SELECT COALESCE((SELECT MAX(position) FROM events), s.position, 0), COALESCE(s.position, 0) "
    "FROM (SELECT 1 AS one) AS o LEFT JOIN log_start AS s ON s.id = 1"
)
"""The newest position and the last one archived (0: none)."""
VERSION = sql("SELECT COALESCE(MAX(version), 0) FROM events WHERE stream_id = ?")


STORED = (*COLUMNS, "hash")
"""A row's columns as stored: its values, then its chain hash."""
INSERT = insert_into("events", STORED)
"""A row: its stored values and its chain hash."""
INSERT_JSON_UNLESS_TAKEN = insert_from_json(
    "events", STORED, " ON CONFLICT (stream_id, version) DO NOTHING"
)
"""PostgreSQL: rows as one JSON array (`db.as_json`), each one skipped (not an error)
if its stream already holds its version."""


CHECKED = sql(
    f"SELECT {', '.join(COLUMNS)}, hash FROM events WHERE position > ? AND position <= ? "
    "ORDER BY position LIMIT ?"
)
"""Rows as verification reads them: the stored values and the chain hash."""
LAST = 2**62
"""A position past any log's head."""
RECORDED_AT = sql("SELECT recorded_at FROM events WHERE position = ?")


def current_version(db: Db, stream_id: str) -> int:
    return int(db.execute(VERSION, (stream_id,)).fetchone()[0])


def read_stream(db: Db, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
    return [to_recorded(row) for row in db.execute(STREAM, (stream_id, after_version))]


EVENTS_OF = sql(
    "SELECT position, type, schema_version, payload FROM events "
    "WHERE stream_id = ? AND version > ? AND version <= ? ORDER BY version"
)


def stream_events(db: Db, stream_id: str, after_version: int, up_to: int) -> list[DomainEvent]:
    """A stream's events at versions (after_version, up_to], decoded (no metadata)."""
    return [
        _decode(position, stream_id, type_name, schema_version, payload)
        for position, type_name, schema_version, payload in db.execute(
            EVENTS_OF, (stream_id, after_version, up_to)
        )
    ]


def head(db: Db) -> int:
    return int(db.execute(HEAD).fetchone()[0])


def read_all(db: Db, after_position: int, limit: int) -> list[RecordedEvent]:
    rows = db.execute(AFTER, {"after": after_position, "limit": limit})
    return [to_recorded(row) for row in rows]


def recorded_at(db: Db, position: int) -> str | None:
    """When the event at `position` was recorded (None if there is none)."""
    row = db.execute(RECORDED_AT, (position,)).fetchone()
    return None if row is None else str(row[0])


def read_types_within(db: Db, types: Sequence[str], first: int, last: int) -> list[RecordedEvent]:
    """Every event of the given types at positions first..last, in position order."""
    rows = db.execute(_types_within(len(types)), (*types, first, last))
    return [to_recorded(row) for row in rows]


def bounds(db: Db) -> tuple[int, int]:
    """(the newest position, the last one archived: 0 if none)."""
    newest, start = db.execute(BOUNDS).fetchone()
    return int(newest), int(start)


def read_types(
    db: Db, after_position: int, types: frozenset[str], limit: int
) -> tuple[list[RecordedEvent], int]:
    """Call inside one read transaction, so the head and the page agree. HistoryArchived
    if events after `after_position` were archived and removed."""
    reached, start = bounds(db)
    if after_position < start:
        raise HistoryArchived(start, after_position + 1)
    rows = db.execute(
        _types_page(len(types)), (*sorted(types), after_position, reached, limit)
    ).fetchall()
    events = [to_recorded(row) for row in rows]
    if len(events) == limit:
        reached = events[-1].position
    return events, max(reached, after_position)


@functools.cache
def _types_within(count: int) -> Sql:
    return sql(
        f"{SELECT} WHERE type IN ({marks(count)}) AND position >= ? AND position <= ? "
        "ORDER BY position"
    )


@functools.cache
def _types_page(count: int) -> Sql:
    return sql(
        f"{SELECT} WHERE type IN ({marks(count)}) AND position > ? AND position <= ? "
        "ORDER BY position LIMIT ?"
    )


def read_checked(
    db: Db,
    after_position: int,
    limit: int,
    up_to: int | None = None,
    types: frozenset[str] | None = None,
) -> "CheckedPage":
    """The log after a position (up to `up_to`; only events of `types`, if given) as the
    audit checks it, each row's payload parsed, and decoded, only when asked."""
    last = LAST if up_to is None else up_to
    if types is None:
        return CheckedPage(db.execute(CHECKED, (after_position, last, limit)).fetchall())
    parameters = (after_position, last, *sorted(types), limit)
    return CheckedPage(db.execute(_checked_of(len(types)), parameters).fetchall())


@functools.cache
def _checked_of(count: int) -> Sql:
    """CHECKED for some types. `type || ''` keeps the planner on the position order: by the
    type index it would sort every page out of all the rows of those types."""
    return sql(
        f"SELECT {', '.join(COLUMNS)}, hash FROM events WHERE position > ? AND position <= ? "
        f"AND type || '' IN ({marks(count)}) ORDER BY position LIMIT ?"
    )


class CheckedPage(Sequence["CheckedEvent"]):
    """A page of rows, each made a CheckedEvent as it is taken: the events of a page are
    not all alive at once, so a long verification's garbage collections stay young."""

    __slots__ = ("_rows",)

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> "CheckedEvent": ...

    @overload
    def __getitem__(self, index: slice) -> list["CheckedEvent"]: ...

    def __getitem__(self, index: int | slice) -> "CheckedEvent | list[CheckedEvent]":
        if isinstance(index, slice):
            return [CheckedEvent(row) for row in self._rows[index]]
        return CheckedEvent(self._rows[index])

    def __iter__(self) -> Iterator["CheckedEvent"]:
        return map(CheckedEvent, self._rows)


class CheckedEvent:
    """A stored row as verification reads it: its values for the hash chain, its payload
    parsed on first use (CorruptEvent then, naming the row, if its time or payload cannot
    be read) and decoded from that parse."""

    __slots__ = ("_data", "_event", "_row", "hash", "position", "stream_id", "type")

    def __init__(self, row: tuple[Any, ...]) -> None:
        self._row = row[:-1]
        self.position: int = row[0]
        self.stream_id: str = row[1]
        self.type: str = row[3]
        self.hash: str = row[-1]
        self._data: dict[str, Any] | None = None
        self._event: DomainEvent | None = None

    @property
    def correlation_id(self) -> str:
        return str(self._row[7])

    @property
    def version(self) -> int:
        return int(self._row[2])

    def link(self, previous: str) -> str:
        return chain_link(previous, self._row)

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            position, stream_id, _, type_name, schema_version, payload = self._row[:6]
            at = self._row[10]
            try:
                parse(at)
            except (TypeError, ValueError):
                why = f"recorded_at {at!r} is not a time"
                raise CorruptEvent(position, stream_id, why) from None
            self._data = _data(position, stream_id, type_name, schema_version, payload)
        return self._data

    @property
    def event(self) -> DomainEvent:
        if self._event is None:
            data = self.data
            try:
                self._event = event_of(self.type, data)
            except Exception as error:  # whatever the stored bytes make the decoder raise
                raise CorruptEvent(self.position, self.stream_id, _why(self.type, error)) from error
        return self._event


def to_recorded(row: Any) -> RecordedEvent:
    """A stored row as an event; CorruptEvent (naming its position) if its time does not
    parse, or, when first used, if its payload does not decode."""
    (position, stream_id, version, type_name, schema_version, payload, *meta) = row
    event_id, correlation_id, causation_id, actor, recorded_at = meta
    try:
        at = parse(recorded_at)
    except (TypeError, ValueError):
        raise CorruptEvent(
            position, stream_id, f"recorded_at {recorded_at!r} is not a time"
        ) from None
    return RecordedEvent(
        position,
        stream_id,
        version,
        type_name,
        schema_version,
        EventMetadata(event_id, correlation_id, causation_id, actor, at),
        functools.partial(_decode, position, stream_id, type_name, schema_version, payload),
        functools.partial(_data, position, stream_id, type_name, schema_version, payload),
    )


def _decode(
    position: int, stream_id: str, type_name: str, schema_version: int, payload: str
) -> DomainEvent:
    try:
        return decode(type_name, schema_version, payload)
    except Exception as error:  # whatever the stored bytes make the decoder raise
        raise CorruptEvent(position, stream_id, _why(type_name, error)) from error


def _data(
    position: int, stream_id: str, type_name: str, schema_version: int, payload: str
) -> dict[str, Any]:
    try:
        return stored_data(type_name, schema_version, payload)
    except Exception as error:  # whatever the stored bytes make the reader raise
        raise CorruptEvent(position, stream_id, _why(type_name, error)) from error


def _why(type_name: str, error: Exception) -> str:
    if isinstance(error, orjson.JSONDecodeError):
        return "its payload is not JSON"
    if isinstance(error, KeyError) and type_name not in EVENT_TYPES:
        return f"no event type is called {type_name!r}"
    if isinstance(error, KeyError):
        return f"its {type_name} payload lacks the field {error}"
    return f"its {type_name} payload does not decode ({type(error).__name__}: {error})"
