"""Reading the events table on a caller's DB-API connection (inside its transaction)."""

import functools
from collections.abc import Sequence
from typing import Any

import orjson

from application.errors import CorruptEvent
from application.messages import EventMetadata, RecordedEvent
from domain.events import EVENT_TYPES, DomainEvent
from infrastructure.codec import decode, stored_data
from infrastructure.sql.db import Db, Sql, marks, sql
from infrastructure.sql.timestamps import parse

COLUMNS = (
    "position", "stream_id", "version", "type", "schema_version", "payload", "event_id",
    "correlation_id", "causation_id", "actor", "recorded_at",
)  # fmt: skip
"""An event's stored values, in column order (the hash chain covers them in this order)."""
SELECT = f"SELECT {', '.join(COLUMNS)} FROM events"
STREAM = sql(f"{SELECT} WHERE stream_id = ? AND version > ? ORDER BY version")
AFTER = sql(f"{SELECT} WHERE position > ? ORDER BY position LIMIT ?")
HEAD = sql("SELECT COALESCE(MAX(position), 0) FROM events")
VERSION = sql("SELECT COALESCE(MAX(version), 0) FROM events WHERE stream_id = ?")
INSERT = sql(f"INSERT INTO events ({', '.join(COLUMNS)}, hash) VALUES ({marks(len(COLUMNS) + 1)})")
"""A row: its stored values and its chain hash."""
CHECKED = sql(
    "SELECT position, stream_id, type, schema_version, payload, correlation_id, recorded_at "
    "FROM events WHERE position > ? ORDER BY position LIMIT ?"
)
RECORDED_AT = sql("SELECT recorded_at FROM events WHERE position = ?")


def current_version(db: Db, stream_id: str) -> int:
    return int(db.execute(VERSION, (stream_id,)).fetchone()[0])


def read_stream(db: Db, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
    return [to_recorded(row) for row in db.execute(STREAM, (stream_id, after_version))]


def head(db: Db) -> int:
    return int(db.execute(HEAD).fetchone()[0])


def read_all(db: Db, after_position: int, limit: int) -> list[RecordedEvent]:
    return [to_recorded(row) for row in db.execute(AFTER, (after_position, limit))]


def recorded_at(db: Db, position: int) -> str | None:
    """When the event at `position` was recorded (None if there is none)."""
    row = db.execute(RECORDED_AT, (position,)).fetchone()
    return None if row is None else str(row[0])


def read_types_within(db: Db, types: Sequence[str], first: int, last: int) -> list[RecordedEvent]:
    """Every event of the given types at positions first..last, in position order."""
    rows = db.execute(_types_within(len(types)), (*types, first, last))
    return [to_recorded(row) for row in rows]


def read_types(
    db: Db, after_position: int, types: frozenset[str], limit: int
) -> tuple[list[RecordedEvent], int]:
    """Call inside one read transaction, so the head and the page agree."""
    reached = head(db)
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


def read_checked(db: Db, after_position: int, limit: int) -> list["CheckedEvent"]:
    """The log after a position as the audit checks it: each row's payload is parsed, and
    decoded, only when asked; CorruptEvent for a row whose time does not parse."""
    return [CheckedEvent(row) for row in db.execute(CHECKED, (after_position, limit))]


class CheckedEvent:
    """A stored event without its metadata: what verification reads of most of the log."""

    __slots__ = (
        "_data", "_event", "correlation_id", "payload", "position", "schema_version",
        "stream_id", "type",
    )  # fmt: skip
    position: int
    stream_id: str
    type: str
    schema_version: int
    payload: str
    correlation_id: str

    def __init__(self, row: tuple[Any, ...]) -> None:
        (self.position, self.stream_id, self.type, self.schema_version, self.payload,
         self.correlation_id, at) = row  # fmt: skip
        try:
            parse(at)
        except (TypeError, ValueError):
            why = f"recorded_at {at!r} is not a time"
            raise CorruptEvent(self.position, self.stream_id, why) from None
        self._data: dict[str, Any] | None = None
        self._event: DomainEvent | None = None

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            self._data = _data(*self._stored())
        return self._data

    @property
    def event(self) -> DomainEvent:
        if self._event is None:
            self._event = _decode(*self._stored())
        return self._event

    def _stored(self) -> tuple[int, str, str, int, str]:
        return self.position, self.stream_id, self.type, self.schema_version, self.payload


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
