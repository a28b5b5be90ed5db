"""The `stats` read model: scheduler and latency counters, and per second the tasks
finished, as `application.read_models.stats` adds them up event by event. Every counter
is an integer (latency in microseconds), so any batching sums exactly."""

from collections.abc import Sequence

from application.read_models import stats
from infrastructure.sql.db import Db
from infrastructure.sql.projections.base import Deltas, EventRecord, upsert

COUNTERS = upsert("stats_counters", ("name",), "value")
THROUGHPUT = upsert("stats_throughput", ("second",), "finished", "completed", "latency_sum_us")


class StatsProjection:
    name = "stats"
    tables: tuple[str, ...] = ("stats_counters", "stats_throughput")

    def apply(self, db: Db, records: Sequence[EventRecord]) -> None:
        counters = Deltas()
        seconds = Deltas()
        for record in records:
            if record.type not in stats.TYPES:
                continue
            change = stats.changes(record)
            for name, value in change.counters.items():
                counters.add((name,), value)
            if change.finished is not None:
                second, completed, latency = change.finished
                seconds.add((second,), 1, completed, latency)
        counters.upsert(db, COUNTERS)
        seconds.upsert(db, THROUGHPUT)
