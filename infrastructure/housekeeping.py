"""What would otherwise grow with time and nothing else: expired idempotency records, the
per-second throughput rows older than the longest series window, and (TASK_ROWS_RETENTION)
the rows of tasks completed or cancelled longer ago than the setting. Pruned in the
background on the node that schedules, a bounded batch per statement.

None of it changes a count or a statistic: status counts and counters have tables of their
own; a pruned task row makes `GET /tasks/{id}` answer 404, as the setting says."""

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine

from application.errors import HistoryArchived
from application.ports import Clock
from domain.values import TaskStatus
from infrastructure.periodic import Periodic
from infrastructure.sql.db import Sql, sql, writing
from infrastructure.sql.timestamps import iso

BATCH = 5000
SERIES_KEPT_S = 86_400 + 3_600
"""Throughput seconds kept: the longest series window (a day) and an hour to spare."""
EXPIRED_KEYS = sql(
    "DELETE FROM idempotency_keys WHERE key IN "
    "(SELECT key FROM idempotency_keys WHERE created_at < ? LIMIT ?)"
)
OLD_SECONDS = sql(
    "DELETE FROM stats_throughput WHERE second IN "
    "(SELECT second FROM stats_throughput WHERE second < ? LIMIT ?)"
)
OLD_TENANT_SECONDS = sql(
    "DELETE FROM tenant_seconds WHERE second IN "
    "(SELECT second FROM tenant_seconds WHERE second < ? LIMIT ?)"
)
CLOSED_ROWS = sql(
    "DELETE FROM tasks WHERE id IN "
    "(SELECT id FROM tasks WHERE status IN (?, ?) AND position <= ? LIMIT ?)"
)


class Housekeeping(Periodic):
    name = "housekeeping"

    def __init__(
        self,
        write: Engine,
        clock: Clock,
        idempotency_ttl: timedelta,
        position_at: Callable[[datetime], int],
        task_rows_after: timedelta | None = None,
        check_s: float = 60.0,
    ) -> None:
        super().__init__(check_s)
        self._write = write
        self._clock = clock
        self._ttl = idempotency_ttl
        self._position_at = position_at
        self.task_rows_after = task_rows_after
        self.pruned = {
            "idempotency_keys": 0, "throughput_seconds": 0, "tenant_seconds": 0, "task_rows": 0
        }  # fmt: skip

    def run_once(self) -> bool:
        """One batch of each; True while some were full (more is due)."""
        now = self._clock.now()
        full = False
        for name, statement, parameters in self._due(now):
            with writing(self._write) as db:
                removed = db.execute(statement, (*parameters, BATCH)).rowcount
            self.pruned[name] += removed
            full = full or removed == BATCH
        return full

    def _due(self, now: datetime) -> list[tuple[str, Sql, tuple[object, ...]]]:
        due: list[tuple[str, Sql, tuple[object, ...]]] = [
            ("idempotency_keys", EXPIRED_KEYS, (iso(now - self._ttl),)),
            ("throughput_seconds", OLD_SECONDS, (int(now.timestamp()) - SERIES_KEPT_S,)),
            ("tenant_seconds", OLD_TENANT_SECONDS, (int(now.timestamp()) - SERIES_KEPT_S,)),
        ]
        if self.task_rows_after is not None:
            try:
                closed_by = self._position_at(now - self.task_rows_after)
            except HistoryArchived as archived:
                closed_by = archived.start
            closed = (str(TaskStatus.COMPLETED), str(TaskStatus.CANCELLED))
            due.append(("task_rows", CLOSED_ROWS, (*closed, closed_by)))
        return due
