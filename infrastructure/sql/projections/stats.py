"""The `stats` read model: scheduler and latency counters, and tasks finished per second."""

import math
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, Table

from application.messages import RecordedEvent
from domain.events import AlgorithmSwitched, TaskCompleted, TaskDeferred, TaskFailed, WorkerAssigned
from infrastructure.sql.projections.base import add_to
from infrastructure.sql.schema import stats_counters, stats_throughput


class StatsProjection:
    name = "stats"
    tables: tuple[Table, ...] = (stats_counters, stats_throughput)

    def apply(self, connection: Connection, recorded: Sequence[RecordedEvent]) -> None:
        for item in recorded:
            match item.event:
                case WorkerAssigned(decision=decision):
                    self._add(connection, "assigned", 1)
                    self._add(connection, f"assigned.{decision.algorithm}", 1)
                case TaskDeferred():
                    self._add(connection, "deferred", 1)
                case TaskCompleted(enqueued_at=enqueued_at, completed_at=completed_at):
                    latency = (completed_at - enqueued_at).total_seconds()
                    self._add(connection, "latency_sum_s", latency)
                    self._add(connection, "latency_count", 1)
                    self._finished(connection, completed_at)
                case TaskFailed(failed_at=failed_at):
                    self._finished(connection, failed_at)
                case AlgorithmSwitched():
                    self._add(connection, "algorithm_switches", 1)

    def _add(self, connection: Connection, name: str, delta: float) -> None:
        add_to(connection, stats_counters, {"name": name}, "value", delta)

    def _finished(self, connection: Connection, moment: datetime) -> None:
        second = math.floor(moment.timestamp())
        add_to(connection, stats_throughput, {"second": second}, "finished", 1)
