"""The `pool_load` read model: each pool's capacity and current load, who runs its tasks,
and whether it drains."""

from collections.abc import Callable, Sequence
from typing import Any

from infrastructure.sql.projections.base import Db, Deltas, EventRecord

INSERT = (
    "INSERT INTO pool_load (pool_id, name, region, resource_type, cost_per_unit, capacity, "
    "current_load, registration, execution, draining) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, 0)"
)


class PoolLoadProjection:
    name = "pool_load"
    tables: tuple[str, ...] = ("pool_load",)

    def apply(self, db: Db, records: Sequence[EventRecord]) -> None:
        registered = []
        capacities: dict[str, int] = {}
        settings: dict[tuple[str, str], Any] = {}
        loads = Deltas()
        for record in records:
            data = record.data
            match record.type:
                case "WorkerPoolRegistered":
                    registered.append(
                        (data["pool_id"], data["name"], data["region"], data["resource_type"],
                         float(data["cost_per_unit"]), data["capacity"], record.position,
                         data["execution"])
                    )  # fmt: skip
                case "PoolCapacityChanged":
                    capacities[data["pool_id"]] = data["capacity"]
                case "PoolDrainStarted" | "PoolResumed":
                    settings[(data["pool_id"], "draining")] = int(record.type == "PoolDrainStarted")
                case "PoolExecutionChanged":
                    settings[(data["pool_id"], "execution")] = data["execution"]
                case "PoolSlotClaimed":
                    loads.add((data["pool_id"],), 1)
                case "PoolSlotReleased":
                    loads.add((data["pool_id"],), -1)
        if registered:
            db.executemany(INSERT, registered)
        if capacities:
            db.executemany(
                "UPDATE pool_load SET capacity = ? WHERE pool_id = ?",
                [(capacity, pool_id) for pool_id, capacity in capacities.items()],
            )
        for (pool_id, column), value in settings.items():
            db.execute(f"UPDATE pool_load SET {column} = ? WHERE pool_id = ?", (value, pool_id))
        loads.apply_to(db, "UPDATE pool_load SET current_load = current_load + ? WHERE pool_id = ?")

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
