"""The `pool_load` read model: each pool's capacity and current load, who runs its tasks,
and whether it drains, folded by the pool row's fold (`application.read_models.pools`):
columns it sets are updated, the load it adds to is added to in SQL."""

from collections.abc import Callable, Sequence
from typing import Any

from application.read_models import pools
from application.read_models.record import Add
from infrastructure.sql.projections.base import Db, Deltas, EventRecord

COLUMNS = (
    "pool_id", "name", "region", "resource_type", "cost_per_unit", "capacity", "current_load",
    "registration", "execution", "draining",
)  # fmt: skip
INSERT = f"INSERT INTO pool_load ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"


class PoolLoadProjection:
    name = "pool_load"
    tables: tuple[str, ...] = ("pool_load",)

    def apply(self, db: Db, records: Sequence[EventRecord]) -> None:
        registered: list[tuple[Any, ...]] = []
        settings: dict[tuple[str, str], Any] = {}
        added: dict[str, Deltas] = {}
        for record in records:
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
            db.execute(f"UPDATE pool_load SET {column} = ? WHERE pool_id = ?", (value, pool_id))
        for column, deltas in added.items():
            deltas.apply_to(db, f"UPDATE pool_load SET {column} = {column} + ? WHERE pool_id = ?")

    def rebuild(self, db: Db, head: int, progress: Callable[[int], None] | None = None) -> None:
        """The whole projection from the log up to `head`, set-based, into an empty table."""
        db.execute(BULK, {"head": head})


BULK = """
INSERT INTO pool_load (pool_id, name, region, resource_type, cost_per_unit, capacity,
                       current_load, registration, execution, draining)
SELECT
    json_extract(r.payload, '$.pool_id'),
    json_extract(r.payload, '$.name'),
    json_extract(r.payload, '$.region'),
    json_extract(r.payload, '$.resource_type'),
    json_extract(r.payload, '$.cost_per_unit'),
    COALESCE(
        (SELECT json_extract(c.payload, '$.capacity') FROM events c
         WHERE c.stream_id = r.stream_id AND +c.type = 'PoolCapacityChanged'
           AND +c.position <= :head
         ORDER BY c.position DESC LIMIT 1),
        json_extract(r.payload, '$.capacity')),
    COALESCE(
        (SELECT SUM(CASE e.type WHEN 'PoolSlotClaimed' THEN 1 WHEN 'PoolSlotReleased' THEN -1
                    ELSE 0 END)
         FROM events e WHERE e.stream_id = r.stream_id AND +e.position <= :head), 0),
    r.position,
    COALESCE(
        (SELECT json_extract(c.payload, '$.execution') FROM events c
         WHERE c.stream_id = r.stream_id AND +c.type = 'PoolExecutionChanged'
           AND +c.position <= :head
         ORDER BY c.position DESC LIMIT 1),
        json_extract(r.payload, '$.execution'), 'simulated'),
    COALESCE(
        (SELECT c.type = 'PoolDrainStarted' FROM events c
         WHERE c.stream_id = r.stream_id AND +c.type IN ('PoolDrainStarted', 'PoolResumed')
           AND +c.position <= :head
         ORDER BY c.position DESC LIMIT 1), 0)
FROM events r
WHERE r.type = 'WorkerPoolRegistered' AND r.position <= :head
"""
