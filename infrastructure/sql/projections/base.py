"""The shape of a projection, the event records it folds, and the SQL helpers it shares.

Projections fold `EventRecord`s (payloads as plain dicts, never decoded into domain
objects) through a DB-API connection, batch by batch: an insert per new row, one update per
changed row, and counters upserted with their net change. The same code runs inline (a
command batch) and in a rebuild (thousands of events), so both build identical tables.
"""

from collections.abc import Hashable, Sequence
from typing import Any, NamedTuple, Protocol

from infrastructure.sql.db import Db, Sql, marks, sql


class EventRecord(NamedTuple):
    position: int
    stream_id: str
    type: str
    data: dict[str, Any]
    correlation_id: str
    recorded_at: str
    version: int
    """The event's version in its stream."""


class SqlProjection(Protocol):
    name: str
    tables: tuple[str, ...]

    def apply(self, db: Db, records: Sequence[EventRecord]) -> None:
        """Fold events into the projection's tables, inside the caller's transaction."""
        ...


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

    def upsert(self, db: Db, upsert: "Upsert") -> None:
        if not self._deltas:
            return
        width = upsert.columns
        db.executemany(
            upsert.statement,
            [(*key, *row, *[0] * (width - len(row))) for key, row in self._deltas.items()],
        )

    def apply_to(self, db: Db, update: Sql) -> None:
        """Run `update` (parameters: the first column's delta, then the key) once per
        changed row."""
        db.executemany(update, [(row[0], *key) for key, row in self._deltas.items()])


class Upsert(NamedTuple):
    """A statement adding counter deltas to rows, inserting the rows that are missing."""

    statement: Sql
    columns: int


def upsert(table: str, keys: Sequence[str], *columns: str) -> Upsert:
    """The upsert adding to `columns` of `table`'s row keyed by `keys` (parameters: the
    key's values, then one delta per column)."""
    names = [*keys, *columns]
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in columns)
    return Upsert(
        sql(
            f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks(len(names))}) "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
        ),
        len(columns),
    )
