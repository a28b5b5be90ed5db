"""What a what-if replay needs from the log up to a position: every task as it stood
there (arrival, recorded start, finish and pool) and the pool configuration changes.

At the head, with the tasks projection current, the tasks come from the projection;
otherwise each task's stream is folded up to that position by the task row's fold. Once
older events are archived, a replay covers the hot log: the tasks queued after its start,
on the pools as they stood there."""

from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from application.audit.tenant_trail import from_plain, settings_of
from application.audit.whatif import (
    CapacityChanged,
    DrainChanged,
    ExecutionChanged,
    PoolChange,
    PoolRegistered,
    Preempted,
    RecordedTask,
    ReplayInputs,
    TenantSet,
)
from application.messages import RecordedEvent
from application.read_models import pools as pool_rows
from application.read_models import tasks as task_fold
from application.read_models.record import Row
from domain.values import ResourceType, TaskStatus
from infrastructure.archive.archived_log import ArchivedLog
from infrastructure.sql import log_start, stored_events
from infrastructure.sql.db import Db, reading, sql
from infrastructure.sql.projections.runner import read_checkpoints
from infrastructure.sql.projections.tasks import COLUMNS, task_rows_at
from infrastructure.sql.timestamps import iso

TASKS_UP_TO = sql(
    f"SELECT {', '.join(COLUMNS)} FROM tasks WHERE queued_position > ? AND queued_position <= ?"
)
FINISHED = (str(TaskStatus.COMPLETED), str(TaskStatus.FAILED))
"""A replayed task runs its last attempt, from its last start to its end; one waiting for
another attempt (delayed or queued again) has none running and is not replayed."""


class SqlReplayInputs:
    def __init__(self, engine: Engine, archive: ArchivedLog | None = None) -> None:
        """`archive`: where a replay up to a position before the hot log's start reads
        the log from."""
        self._engine = engine
        self._archive = archive

    def head(self) -> int:
        with reading(self._engine) as db:
            return stored_events.head(db)

    def up_to(self, position: int) -> ReplayInputs:
        """The tasks queued and the pool changes up to `position`; once older events are
        archived, those of the hot log (tasks queued after its start, on the pools as
        they stood there): HistoryArchived for a position before it."""
        with reading(self._engine, transaction=True) as db:
            head, start = stored_events.bounds(db)
            if position < start and self._archive is not None:
                return self._archived(position)
            if position < start:
                raise log_start.archived(db, start, position)
            current = read_checkpoints(db).get("tasks") == head == position
            if current:
                rows = db.execute(TASKS_UP_TO, (start, position))
                found = [dict(zip(COLUMNS, row, strict=True)) for row in rows]
            else:
                found = [
                    row for row in task_rows_at(db, position) if row["queued_position"] > start
                ]
            changes = pools_at_start(db) if start else []
            changes += pool_changes(db, position, start + 1)
            tenants = tenants_at_start(db) if start else []
            preempted: list[Preempted] = []
            for recorded in stored_events.read_types_within(db, TENANT_TYPES, start + 1, position):
                _tenant_fact(recorded, tenants, preempted)
            last = stored_events.recorded_at(db, position)
        return _inputs(found, changes, last, tenants, preempted)

    def _archived(self, position: int) -> ReplayInputs:
        """The inputs up to a position the archive holds: every task's stream and the
        pool changes, folded from the segments in one pass."""
        assert self._archive is not None
        rows: dict[str, Row] = {}
        changes: list[PoolChange] = []
        tenants: list[TenantSet] = []
        preempted: list[Preempted] = []
        last: str | None = None
        for recorded in self._archive.recorded(0, position):
            last = iso(recorded.metadata.recorded_at)
            if recorded.type in TENANT_TYPES:
                _tenant_fact(recorded, tenants, preempted)
            if recorded.type == "TaskQueued":
                rows[recorded.stream_id] = task_fold.start(recorded)
            elif (row := rows.get(recorded.stream_id)) is not None:
                row.update(task_fold.fold(recorded, row))
            elif recorded.type in CONFIGURATION_TYPES:
                changes += _pool_change(recorded)
        return _inputs(list(rows.values()), changes, last, tenants, preempted)


def _inputs(
    found: list[Row],
    changes: list[PoolChange],
    last: str | None,
    tenants: list[TenantSet],
    preempted: list[Preempted],
) -> ReplayInputs:
    tasks = sorted(map(_task, found), key=lambda task: task.queued_position)
    used = frozenset(row["algorithm_used"] for row in found if row["algorithm_used"])
    end = _seconds(last) if last else 0.0
    return ReplayInputs(tasks, changes, used, end, tenants, preempted)


TENANT_TYPES = ("TenantCreated", "TenantChanged", "TaskPreempted")
"""The events a replay takes the tenants' settings and the recorded preemptions from."""


def _tenant_fact(
    recorded: RecordedEvent, tenants: list[TenantSet], preempted: list[Preempted]
) -> None:
    at, where, data = recorded.metadata.recorded_at.timestamp(), recorded.position, recorded.data
    if recorded.type == "TaskPreempted":
        preempted.append(Preempted(where, at, data["tenant"]))
    else:
        tenants.append(TenantSet(where, at, settings_of(data)))


def tenants_at_start(db: Db) -> list[TenantSet]:
    """The tenants' settings at the hot log's start, as if set before any task of the
    replay (none in a start saved before tenants were kept there)."""
    kept = log_start.load(db).tenants
    if not kept:
        return []
    return [TenantSet(0, float("-inf"), from_plain(plain)) for plain in kept["tenants"]]


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
        tenant=row["tenant"],
        preemptible=bool(row["preemptible"]),
    )


CONFIGURATION = sorted(pool_rows.TYPES - pool_rows.LOADS)
CONFIGURATION_TYPES = frozenset(CONFIGURATION)


def pools_at_start(db: Db) -> list[PoolChange]:
    """The pools as they stood at the hot log's start, each as if registered before any
    task of the replay (their configuration there)."""
    return [
        PoolRegistered(row["registration"], float("-inf"), pool_rows.snapshot(row),
                       row["execution"])
        for row in log_start.load(db).pools.values()
    ]  # fmt: skip


def pool_changes(db: Db, position: int, first: int = 1) -> list[PoolChange]:
    """Every pool registration and configuration change at positions first..`position`,
    in log order, as the pool row's fold states them."""
    changes: list[PoolChange] = []
    for recorded in stored_events.read_types_within(db, CONFIGURATION, first, position):
        changes += _pool_change(recorded)
    return changes


def _pool_change(recorded: RecordedEvent) -> list[PoolChange]:
    """A pool's registration or configuration change, as the pool row's fold states it."""
    at, where = recorded.metadata.recorded_at.timestamp(), recorded.position
    if recorded.type == "WorkerPoolRegistered":
        row = pool_rows.start(recorded)
        return [PoolRegistered(where, at, pool_rows.snapshot(row), row["execution"])]
    pool_id = recorded.data["pool_id"]
    changes: list[PoolChange] = []
    for column, value in pool_rows.changes(recorded).items():
        match column:
            case "capacity":
                changes.append(CapacityChanged(where, at, pool_id, value))
            case "draining":
                changes.append(DrainChanged(where, at, pool_id, bool(value)))
            case "execution":
                changes.append(ExecutionChanged(where, at, pool_id, value))
    return changes


def _seconds(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()
