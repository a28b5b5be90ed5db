"""Reading the events table on a caller's connection (inside its transaction)."""

from typing import Any

from sqlalchemy import Connection, func, select

from application.messages import EventMetadata, RecordedEvent
from infrastructure.codec import decode
from infrastructure.sql.schema import events
from infrastructure.sql.timestamps import parse

COLUMNS = (
    events.c.position,
    events.c.stream_id,
    events.c.version,
    events.c.type,
    events.c.schema_version,
    events.c.payload,
    events.c.event_id,
    events.c.correlation_id,
    events.c.causation_id,
    events.c.actor,
    events.c.recorded_at,
)


def current_version(connection: Connection, stream_id: str) -> int:
    query = select(func.max(events.c.version)).where(events.c.stream_id == stream_id)
    return int(connection.execute(query).scalar() or 0)


def read_stream(connection: Connection, stream_id: str) -> list[RecordedEvent]:
    query = select(*COLUMNS).where(events.c.stream_id == stream_id).order_by(events.c.version)
    return [to_recorded(row) for row in connection.execute(query)]


def head(connection: Connection) -> int:
    return int(connection.execute(select(func.max(events.c.position))).scalar() or 0)


def read_all(connection: Connection, after_position: int, limit: int) -> list[RecordedEvent]:
    query = (
        select(*COLUMNS)
        .where(events.c.position > after_position)
        .order_by(events.c.position)
        .limit(limit)
    )
    return [to_recorded(row) for row in connection.execute(query)]


def to_recorded(row: Any) -> RecordedEvent:
    (position, stream_id, version, type_name, schema_version, payload, *meta) = row
    event_id, correlation_id, causation_id, actor, recorded_at = meta
    return RecordedEvent(
        position,
        stream_id,
        version,
        decode(type_name, schema_version, payload),
        EventMetadata(event_id, correlation_id, causation_id, actor, parse(recorded_at)),
    )
