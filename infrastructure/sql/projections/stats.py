"""The `stats` read model: scheduler and latency counters, and per second the tasks
finished, as `application.read_models.stats` adds them up event by event. Every counter
is an integer (latency in microseconds), so any batching sums exactly."""

from collections.abc import Callable, Sequence

from application.read_models import stats
from infrastructure.sql.projections.base import Db, Deltas, EventRecord


class StatsProjection:
    name = "stats"
    tables: tuple[str, ...] = ("stats_counters", "stats_throughput")

    def apply(self, db: Db, records: Sequence[EventRecord]) -> None:
        counters = Deltas()
        seconds = Deltas()
        for record in records:
            change = stats.changes(record)
            for name, value in change.counters.items():
                counters.add((name,), value)
            if change.finished is not None:
                second, completed, latency = change.finished
                seconds.add((second,), 1, completed, latency)
        counters.upsert(db, "stats_counters", ("name",), "value")
        seconds.upsert(db, "stats_throughput", ("second",), "finished", "completed",
                       "latency_sum_us")  # fmt: skip

    def rebuild(self, db: Db, head: int, progress: Callable[[int], None] | None = None) -> None:
        """The whole projection from the log up to `head`, set-based, into empty tables.
        Counters exist once counted, as in the incremental fold; latency is summed in
        integer microseconds from the fixed-width UTC timestamps."""
        db.execute(BULK_COUNTERS, {"head": head})
        db.execute(BULK_THROUGHPUT, {"head": head})


def micros(column: str) -> str:
    """SQL for a fixed-width UTC timestamp column as integer microseconds."""
    return (
        f"(unixepoch(substr({column}, 1, 19)) * 1000000 + CAST(substr({column}, 21, 6) AS INTEGER))"
    )


BULK_COUNTERS = f"""
WITH assigned AS MATERIALIZED (
    SELECT json_extract(payload, '$.decision.algorithm') AS algorithm FROM events
    WHERE type = 'WorkerAssigned' AND position <= :head
)
INSERT INTO stats_counters (name, value)
SELECT 'assigned', COUNT(*) FROM assigned
HAVING COUNT(*) > 0
UNION ALL
SELECT 'assigned.' || algorithm, COUNT(*) FROM assigned GROUP BY algorithm
UNION ALL
SELECT 'deferred', COUNT(*) FROM events WHERE type = 'TaskDeferred' AND position <= :head
HAVING COUNT(*) > 0
UNION ALL
SELECT 'algorithm_switches', COUNT(*) FROM events
WHERE type = 'AlgorithmSwitched' AND position <= :head
HAVING COUNT(*) > 0
UNION ALL
SELECT name, value FROM (
    SELECT 'latency_sum_us' AS name,
           SUM({micros("json_extract(payload, '$.completed_at')")}
               - {micros("json_extract(payload, '$.enqueued_at')")}) AS value,
           COUNT(*) AS completed
    FROM events WHERE type = 'TaskCompleted' AND position <= :head
    UNION ALL
    SELECT 'latency_count', COUNT(*), COUNT(*) FROM events
    WHERE type = 'TaskCompleted' AND position <= :head
) WHERE completed > 0
"""

COMPLETED_AT = "json_extract(payload, '$.completed_at')"

BULK_THROUGHPUT = f"""
INSERT INTO stats_throughput (second, finished, completed, latency_sum_us)
SELECT unixepoch(substr(moment, 1, 19)), COUNT(*), SUM(completed), SUM(latency) FROM (
    SELECT {COMPLETED_AT} AS moment, 1 AS completed,
           {micros(COMPLETED_AT)} - {micros("json_extract(payload, '$.enqueued_at')")} AS latency
    FROM events WHERE type = 'TaskCompleted' AND position <= :head
    UNION ALL
    SELECT json_extract(payload, '$.failed_at'), 0, 0 FROM events
    WHERE type = 'TaskFailed' AND position <= :head
      AND json_extract(payload, '$.retry_at') IS NULL
    UNION ALL
    SELECT json_extract(payload, '$.expired_at'), 0, 0 FROM events
    WHERE type = 'TaskLeaseExpired' AND position <= :head
      AND json_extract(payload, '$.retry_at') IS NULL
) GROUP BY 1
"""
