"""The `stats` read model: scheduler and latency counters, and per second the tasks
finished (completed, or failed for good: a failed attempt that will be retried has not
finished), and of them the completed ones with the sum of their latencies.
Every counter is an integer (latency in microseconds), so any batching sums exactly."""

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from infrastructure.sql.projections.base import Db, Deltas, EventRecord

MICROSECOND = timedelta(microseconds=1)


class StatsProjection:
    name = "stats"
    tables: tuple[str, ...] = ("stats_counters", "stats_throughput")

    def apply(self, db: Db, records: Sequence[EventRecord]) -> None:
        counters = Deltas()
        seconds = Deltas()
        for record in records:
            data = record.data
            match record.type:
                case "WorkerAssigned":
                    counters.add(("assigned",), 1)
                    counters.add((f"assigned.{data['decision']['algorithm']}",), 1)
                case "TaskDeferred":
                    counters.add(("deferred",), 1)
                case "TaskCompleted":
                    done = datetime.fromisoformat(data["completed_at"])
                    latency = (done - datetime.fromisoformat(data["enqueued_at"])) // MICROSECOND
                    counters.add(("latency_sum_us",), latency)
                    counters.add(("latency_count",), 1)
                    seconds.add((int(done.timestamp()),), 1, 1, latency)
                case "TaskFailed" | "TaskLeaseExpired" if data["retry_at"] is None:
                    moment = data["failed_at" if record.type == "TaskFailed" else "expired_at"]
                    seconds.add((int(datetime.fromisoformat(moment).timestamp()),), 1)
                case "AlgorithmSwitched":
                    counters.add(("algorithm_switches",), 1)
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
