"""The `stats` read model: scheduler and latency counters, and tasks finished per second.
Every counter is an integer (latency in microseconds), so any batching sums exactly."""

from collections.abc import Sequence
from datetime import datetime, timedelta

from infrastructure.sql.projections.base import Db, Deltas, EventRecord

MICROSECOND = timedelta(microseconds=1)


class StatsProjection:
    name = "stats"
    tables: tuple[str, ...] = ("stats_counters", "stats_throughput")

    def apply(self, db: Db, records: Sequence[EventRecord]) -> None:
        counters = Deltas()
        finished = Deltas()
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
                    latency = done - datetime.fromisoformat(data["enqueued_at"])
                    counters.add(("latency_sum_us",), latency // MICROSECOND)
                    counters.add(("latency_count",), 1)
                    finished.add((int(done.timestamp()),), 1)
                case "TaskFailed":
                    finished.add((int(datetime.fromisoformat(data["failed_at"]).timestamp()),), 1)
                case "AlgorithmSwitched":
                    counters.add(("algorithm_switches",), 1)
        counters.upsert(db, "stats_counters", ("name",), "value")
        finished.upsert(db, "stats_throughput", ("second",), "finished")
