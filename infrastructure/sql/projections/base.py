"""The shape of a projection, the event records it folds, and the SQL helpers it shares.

Projections fold `EventRecord`s (payloads as plain dicts, never decoded into domain
objects) through a DB-API connection, batch by batch: an insert per new row, one update per
changed row, and counters upserted with their net change. The same code runs inline (a
command batch) and in a rebuild (thousands of events), so both build identical tables.
"""

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Connection


class Db(Protocol):
    """The DB-API calls the projections use (sqlite3.Connection and cursors provide them)."""

    def execute(self, sql: str, parameters: Sequence[Any] | Mapping[str, Any] = ..., /) -> Any: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Any: ...


class EventRecord(NamedTuple):
    position: int
    stream_id: str
    type: str
    data: dict[str, Any]
    correlation_id: str
    recorded_at: str


class SqlProjection(Protocol):
    name: str
    tables: tuple[str, ...]

    def apply(self, db: Db, records: Sequence[EventRecord]) -> None:
        """Fold events into the projection's tables, inside the caller's transaction."""
        ...


def raw(connection: Connection) -> Db:
    """The DB-API connection under a SQLAlchemy one, inside its open transaction (on
    PostgreSQL wrapped to take the same placeholders as SQLite)."""
    driver = connection.connection.driver_connection
    assert driver is not None
    if connection.dialect.name == "postgresql":
        from infrastructure.sql.postgres_db import PostgresDb

        return PostgresDb(driver)
    return driver  # type: ignore[no-any-return]


class Deltas:
    """Net changes to counter rows, each of one or more counter columns (a row's deltas
    are added column by column; missing ones are 0), applied with one upsert per row."""

    def __init__(self) -> None:
        self._deltas: dict[tuple[Hashable, ...], list[int]] = {}

    def add(self, key: tuple[Hashable, ...], *deltas: int) -> None:
        row = self._deltas.get(key)
        if row is None:
            self._deltas[key] = list(deltas)
            return
        if len(row) < len(deltas):
            row.extend([0] * (len(deltas) - len(row)))
        for index, delta in enumerate(deltas):
            row[index] += delta

    def upsert(self, db: Db, table: str, keys: Sequence[str], *columns: str) -> None:
        if not self._deltas:
            return
        names = [*keys, *columns]
        updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in columns)
        db.executemany(
            f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}",
            [(*key, *row, *[0] * (len(columns) - len(row))) for key, row in self._deltas.items()],
        )

    def apply_to(self, db: Db, update: str) -> None:
        """Run `update` (parameters: the first column's delta, then the key) once per
        changed row."""
        db.executemany(update, [(row[0], *key) for key, row in self._deltas.items()])
