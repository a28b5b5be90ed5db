"""The `pool_load` read model: each pool's capacity and current load, who runs its tasks,
and whether it drains, folded by the pool row's fold (`application.read_models.pools`):
columns it sets are updated, the load it adds to is added to in SQL."""

import functools
from collections.abc import Sequence
from typing import Any

from application.read_models import pools
from application.read_models.record import Add
from infrastructure.sql.db import Db, Sql, marks, sql
from infrastructure.sql.projections.base import Deltas, EventRecord

COLUMNS = (
    "pool_id", "name", "region", "resource_type", "cost_per_unit", "capacity", "current_load",
    "registration", "execution", "draining",
)  # fmt: skip
INSERT = sql(f"INSERT INTO pool_load ({', '.join(COLUMNS)}) VALUES ({marks(len(COLUMNS))})")


class PoolLoadProjection:
    name = "pool_load"
    tables: tuple[str, ...] = ("pool_load",)

    def apply(self, db: Db, records: Sequence[EventRecord]) -> None:
        registered: list[tuple[Any, ...]] = []
        settings: dict[tuple[str, str], Any] = {}
        added: dict[str, Deltas] = {}
        for record in records:
            if record.type not in pools.TYPES:
                continue
            if record.type == "WorkerPoolRegistered":
                row = pools.start(record)
                registered.append(tuple(row[c] for c in COLUMNS))
                continue
            for column, value in pools.changes(record).items():
                if isinstance(value, Add):
                    added.setdefault(column, Deltas()).add((record.data["pool_id"],), value)
                else:
                    settings[(record.data["pool_id"], column)] = value
        if registered:
            db.executemany(INSERT, registered)
        for (pool_id, column), value in settings.items():
            db.execute(_set(column), (value, pool_id))
        for column, deltas in added.items():
            deltas.apply_to(db, _add(column))


# The columns come from the fold's declarations, a closed set.
@functools.cache
def _set(column: str) -> Sql:
    return sql(f"UPDATE pool_load SET {column} = ? WHERE pool_id = ?")


@functools.cache
def _add(column: str) -> Sql:
    return sql(f"UPDATE pool_load SET {column} = {column} + ? WHERE pool_id = ?")
