"""The shape of a projection, and the small portable SQL helpers they share."""

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import Connection, Table, insert, update

from application.messages import RecordedEvent


class SqlProjection(Protocol):
    name: str
    tables: tuple[Table, ...]

    def apply(self, connection: Connection, recorded: Sequence[RecordedEvent]) -> None:
        """Fold events into the projection's tables, inside the caller's transaction."""
        ...


def add_to(
    connection: Connection, table: Table, key: dict[str, Any], column: str, delta: float
) -> None:
    """Add `delta` to one counter row, creating the row on first use (portable upsert)."""
    conditions = [table.c[name] == value for name, value in key.items()]
    result = connection.execute(
        update(table).where(*conditions).values({column: table.c[column] + delta})
    )
    if result.rowcount == 0:
        connection.execute(insert(table).values({**key, column: delta}))
