"""Time travel: the read models exactly as they were at a log position, folded from the
log itself (the projections only know the present).

A task is its stream folded up to the position. Pools and stats are sums of per-event
contributions (events of each type, assignments per algorithm, latency, pool slots claimed
minus released), so they come from totals of the log up to the position. The log is
append-only, so the totals of a full block of BLOCK positions never change: each block is
summarized once, in SQL, and kept for the life of the process; a query adds the cached
blocks and summarizes only the part of the last block it needs. `warm()` summarizes every
full block ahead of the first query.
"""

import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from application import views
from application.audit.whatif import CapacityChanged, DrainChanged, PoolRegistered
from application.read_models.pools import utilization
from domain.events import (
    AlgorithmSwitched,
    TaskCompleted,
    TaskDeferred,
    TaskFailed,
    TaskLeaseExpired,
    WorkerAssigned,
)
from domain.scheduler_config import SCHEDULER_STREAM
from domain.task import task_stream
from domain.values import Algorithm, TaskStatus
from domain.worker_pool import pool_stream
from infrastructure.codec import decode
from infrastructure.sql import log
from infrastructure.sql.errors import connect
from infrastructure.sql.projections.base import Db, raw
from infrastructure.sql.projections.stats import micros
from infrastructure.sql.projections.task_status import (
    IN_MOVING,
    Field,
    postgres_field,
    sqlite_field,
    status_after,
    status_before,
)
from infrastructure.sql.queries import THROUGHPUT_WINDOW_S, stats_view
from infrastructure.sql.replay_inputs import pool_changes
from infrastructure.sql.timestamps import iso, parse

BLOCK = 50_000


def _summary(field: Field, micros_of: Callable[[str], str]) -> str:
    """Totals of positions (:low, :high]; `field` reads a payload field, `micros_of(sql)`
    turns a timestamp into integer microseconds, in the database's SQL. Task statuses are
    counted as moves between two statuses ('move.<before>.<after>')."""

    def text_at(path: str) -> str:
        return field("payload", path, "text")

    return f"""
WITH assigned AS MATERIALIZED (
    SELECT {text_at("decision.algorithm")} AS algorithm FROM events
    WHERE type = 'WorkerAssigned' AND position > :low AND position <= :high
)
SELECT 'type.' || type, COUNT(*) FROM events
WHERE position > :low AND position <= :high GROUP BY type
UNION ALL
SELECT 'assigned.' || algorithm, COUNT(*) FROM assigned GROUP BY algorithm
UNION ALL
SELECT 'latency_sum_us',
       SUM({micros_of(text_at("completed_at"))} - {micros_of(text_at("enqueued_at"))})
FROM events WHERE type = 'TaskCompleted' AND position > :low AND position <= :high
HAVING COUNT(*) > 0
UNION ALL
SELECT 'load.' || stream_id,
       SUM(CASE type WHEN 'PoolSlotClaimed' THEN 1 ELSE -1 END)
FROM events WHERE type IN ('PoolSlotClaimed', 'PoolSlotReleased')
  AND position > :low AND position <= :high
GROUP BY stream_id
UNION ALL
SELECT 'move.' || {status_before(field)} || '.' || {status_after(field)}, COUNT(*)
FROM events e WHERE e.type IN {IN_MOVING} AND e.position > :low AND e.position <= :high
GROUP BY 1
"""


SUMMARY = _summary(sqlite_field, micros)
SUMMARY_POSTGRES = _summary(
    postgres_field,
    lambda sql: f"(EXTRACT(EPOCH FROM ({sql})::timestamptz) * 1000000)::bigint",
)


def _count(totals: Counter[str], event: type) -> int:
    return totals[f"type.{event.__name__}"]


class SqlTimeTravel:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        self._blocks: dict[int, Counter[str]] = {}
        self._lock = threading.Lock()

    def position_at(self, moment: datetime) -> int:
        """The newest position recorded at or before `moment` (0 if none): a bisection, as
        the store stamps recorded_at in position order."""
        with connect(self._engine, transaction=True) as connection:
            db = raw(connection)
            return _first_after(db, iso(moment), log.head(db)) - 1

    def head(self) -> int:
        with connect(self._engine) as connection:
            return log.head(raw(connection))

    def task(self, task_id: str, position: int) -> dict[str, Any] | None:
        with connect(self._engine) as connection:
            history = log.read_stream(raw(connection), task_stream(task_id))
        return views.task_view([event for event in history if event.position <= position])

    def pools(self, position: int) -> list[dict[str, Any]]:
        with connect(self._engine, transaction=True) as connection:
            db = raw(connection)
            return _pools(db, position, self._totals(db, position))

    def stats(self, position: int) -> dict[str, Any]:
        with connect(self._engine, transaction=True) as connection:
            db = raw(connection)
            totals = self._totals(db, position)
            moment = parse(_recorded_at(db, position)) if position else None
            finished = _finished_in_window(db, position, moment)
            algorithm = _algorithm(db, position)
            pools = _pools(db, position, totals)
        assigned, completed = _count(totals, WorkerAssigned), _count(totals, TaskCompleted)
        counts: Counter[str] = Counter({str(status): 0 for status in TaskStatus})
        for name, moved in totals.items():
            if name.startswith("move."):
                _, before, after = name.split(".")
                counts[after] += moved
                if before:
                    counts[before] -= moved
        counters = {
            "assigned": assigned,
            "deferred": _count(totals, TaskDeferred),
            "algorithm_switches": _count(totals, AlgorithmSwitched),
            "latency_sum_us": totals["latency_sum_us"],
            "latency_count": completed,
            **{f"assigned.{name}": totals[f"assigned.{name}"] for name in Algorithm},
        }
        return stats_view(
            dict(counts),
            counters,
            finished,
            pools,
            algorithm,
        )

    def warm(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Summarize every full block now, so the first query does not have to."""
        with connect(self._engine) as connection:
            db = raw(connection)
            full = log.head(db) // BLOCK
            for block in range(full):
                self._block(db, block)
                if progress is not None:
                    progress(block + 1, full)

    def _totals(self, db: Db, position: int) -> Counter[str]:
        totals: Counter[str] = Counter()
        full, rest = divmod(position, BLOCK)
        for block in range(full):
            totals.update(self._block(db, block))
        if rest:
            totals.update(self._summarize(db, full * BLOCK, position))
        return totals

    def _summarize(self, db: Db, low: int, high: int) -> Counter[str]:
        return _summarize(db, low, high, SUMMARY if self._sqlite else SUMMARY_POSTGRES)

    def _block(self, db: Db, block: int) -> Counter[str]:
        with self._lock:
            cached = self._blocks.get(block)
        if cached is None:
            cached = self._summarize(db, block * BLOCK, (block + 1) * BLOCK)
            with self._lock:
                self._blocks[block] = cached
        return cached


def _summarize(db: Db, low: int, high: int, sql: str = SUMMARY) -> Counter[str]:
    rows = db.execute(sql, {"low": low, "high": high})
    return Counter({name: int(value) for name, value in rows})


def _first_after(db: Db, moment: str, head: int, inclusive: bool = False) -> int:
    """The first position in 1..head recorded after `moment` (at or after, if inclusive),
    or head + 1: a bisection, as recorded_at never decreases along the log."""
    low, high = 1, head + 1
    while low < high:
        middle = (low + high) // 2
        recorded = _recorded_at(db, middle)
        if recorded > moment or (inclusive and recorded == moment):
            high = middle
        else:
            low = middle + 1
    return low


def _recorded_at(db: Db, position: int) -> str:
    row = db.execute("SELECT recorded_at FROM events WHERE position = ?", (position,)).fetchone()
    return str(row[0])


def _pools(db: Db, position: int, totals: Counter[str]) -> list[dict[str, Any]]:
    pools: dict[str, dict[str, Any]] = {}
    for change in pool_changes(db, position):
        if isinstance(change, PoolRegistered):
            seen = change.pool
            pools[seen.pool_id] = {
                "id": seen.pool_id,
                "name": seen.name,
                "region": seen.region,
                "resource_type": str(seen.resource_type),
                "cost_per_unit": seen.cost_per_unit,
                "capacity": seen.capacity,
                "execution": change.execution,
                "draining": False,
            }
        elif change.pool_id not in pools:
            continue
        elif isinstance(change, CapacityChanged):
            pools[change.pool_id]["capacity"] = change.capacity
        elif isinstance(change, DrainChanged):
            pools[change.pool_id]["draining"] = change.draining
        else:
            pools[change.pool_id]["execution"] = change.execution
    for pool_id, pool in pools.items():
        load = totals[f"load.{pool_stream(pool_id)}"]
        pool["current_load"] = load
        pool["utilization"] = utilization(load, pool["capacity"])
    return list(pools.values())


def _finished_in_window(db: Db, position: int, moment: datetime | None) -> int:
    """Tasks finished in the throughput window ending at `moment`, as the stats projection
    counts them (by the second of their own finish time). A finish time is never after
    its event's recorded_at, so only events recorded in the window need reading."""
    if moment is None:
        return 0
    since = int((moment - timedelta(seconds=THROUGHPUT_WINDOW_S)).timestamp())
    earliest = iso(datetime.fromtimestamp(since, moment.tzinfo))
    first = _first_after(db, earliest, position, inclusive=True)
    finished = 0
    kinds = (TaskCompleted.type_name(), TaskFailed.type_name(), TaskLeaseExpired.type_name())
    for recorded in log.read_types_within(db, kinds, first, position):
        match recorded.event:
            case (
                TaskCompleted(completed_at=at)
                | TaskFailed(failed_at=at, retry_at=None)
                | TaskLeaseExpired(expired_at=at, retry_at=None)
            ):
                finished += int(at.timestamp()) > since
    return finished


def _algorithm(db: Db, position: int) -> Algorithm:
    row = db.execute(
        "SELECT type, schema_version, payload FROM events "
        "WHERE stream_id = ? AND position <= ? ORDER BY version DESC LIMIT 1",
        (SCHEDULER_STREAM, position),
    ).fetchone()
    if row is None:
        return Algorithm.FIFO
    event = decode(*row)
    assert isinstance(event, AlgorithmSwitched)
    return event.algorithm
