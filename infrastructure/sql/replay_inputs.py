"""What a what-if replay needs from the log up to a position: every task as it stood
there (arrival, recorded start, finish and pool) and the pool configuration changes.

At the head, with the tasks projection current, the tasks come from the projection;
otherwise from the set-based query the rebuild uses, evaluated at that position."""

from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from application.audit.whatif import (
    CapacityChanged,
    DrainChanged,
    ExecutionChanged,
    PoolChange,
    PoolRegistered,
    RecordedTask,
    ReplayInputs,
)
from domain.events import (
    PoolCapacityChanged,
    PoolDrainStarted,
    PoolExecutionChanged,
    PoolResumed,
    WorkerPoolRegistered,
)
from domain.scheduling import PoolSnapshot
from domain.values import ResourceType, TaskStatus
from infrastructure.sql import log
from infrastructure.sql.errors import connect
from infrastructure.sql.projections.base import Db, raw
from infrastructure.sql.projections.runner import read_checkpoints
from infrastructure.sql.projections.tasks import COLUMNS, TASKS_AT, TASKS_AT_POSTGRES

FIELDS = ", ".join(COLUMNS)
FINISHED = (str(TaskStatus.COMPLETED), str(TaskStatus.FAILED))
"""A replayed task runs its last attempt, from its last start to its end; one waiting for
another attempt (delayed or queued again) has none running and is not replayed."""


class SqlReplayInputs:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def head(self) -> int:
        with connect(self._engine) as connection:
            return log.head(raw(connection))

    def up_to(self, position: int) -> ReplayInputs:
        with connect(self._engine, transaction=True) as connection:
            db = raw(connection)
            head = log.head(db)
            current = read_checkpoints(db).get("tasks") == head == position
            if current:
                rows = db.execute(
                    f"SELECT {FIELDS} FROM tasks WHERE queued_position <= ?", (position,)
                )
            else:
                query = TASKS_AT if connection.dialect.name == "sqlite" else TASKS_AT_POSTGRES
                rows = db.execute(query, {"head": position, "low": 0, "high": position})
            found = [dict(zip(COLUMNS, row, strict=True)) for row in rows]
            changes = pool_changes(db, position)
            last = db.execute(
                "SELECT recorded_at FROM events WHERE position = ?", (position,)
            ).fetchone()
        tasks = sorted(map(_task, found), key=lambda task: task.queued_position)
        used = frozenset(row["algorithm_used"] for row in found if row["algorithm_used"])
        return ReplayInputs(tasks, changes, used, _seconds(last[0]) if last else 0.0)


def _task(row: dict[str, Any]) -> RecordedTask:
    finished = row["status"] in FINISHED
    running = finished or row["status"] == str(TaskStatus.PROCESSING)
    kind = row["resource_type"]
    return RecordedTask(
        task_id=row["id"],
        priority=row["priority"],
        region=row["region"],
        resource_type=None if kind is None else ResourceType(kind),
        cost=float(row["cost"]),
        queued_position=row["queued_position"],
        enqueued_at=_seconds(row["enqueued_at"]),
        pool_id=row["pool_id"],
        started_at=_seconds(row["started_at"]) if running and row["started_at"] else None,
        finished_at=_seconds(row["completed_at"]) if finished else None,
        finished_position=row["position"] if finished else None,
    )


POOL_TYPES = tuple(
    cls.type_name()
    for cls in (
        WorkerPoolRegistered, PoolCapacityChanged, PoolDrainStarted, PoolResumed,
        PoolExecutionChanged,
    )
)  # fmt: skip


def pool_changes(db: Db, position: int) -> list[PoolChange]:
    """Every pool registration and configuration change up to `position`, in log order."""
    changes: list[PoolChange] = []
    for recorded in log.read_types_within(db, POOL_TYPES, 1, position):
        at = recorded.metadata.recorded_at.timestamp()
        match recorded.event:
            case WorkerPoolRegistered() as new:
                pool = PoolSnapshot(
                    new.pool_id, new.name, new.region, new.resource_type,
                    new.cost_per_unit, new.capacity, 0, recorded.position,
                )  # fmt: skip
                changes.append(PoolRegistered(recorded.position, at, pool, str(new.execution)))
            case PoolCapacityChanged(pool_id=pool_id, capacity=capacity):
                changes.append(CapacityChanged(recorded.position, at, pool_id, capacity))
            case PoolDrainStarted(pool_id=pool_id) | PoolResumed(pool_id=pool_id):
                draining = isinstance(recorded.event, PoolDrainStarted)
                changes.append(DrainChanged(recorded.position, at, pool_id, draining))
            case PoolExecutionChanged(pool_id=pool_id, execution=execution):
                changes.append(ExecutionChanged(recorded.position, at, pool_id, str(execution)))
    return changes


def _seconds(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()
