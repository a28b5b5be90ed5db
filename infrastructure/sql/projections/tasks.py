"""The `tasks` read model: one row per task as the task endpoints return it, and
`task_counts` per (status, type, region) so totals never scan the tasks table.

A batch folds each task's events through the task row's fold (`application.read_models.
tasks`: the task's current status and attempt are read once per batch), writes one update
per task, and moves the counts by each task's status before and after the batch."""

from collections.abc import Callable, Sequence
from typing import Any

import orjson

from application.read_models import tasks
from application.read_models.record import Row, resolved
from domain.values import TaskStatus
from infrastructure.sql.projections.base import Db, Deltas, EventRecord
from infrastructure.sql.projections.task_status import (
    IN_MOVING,
    Field,
    moved_at,
    postgres_field,
    sqlite_field,
    status_after,
)

DELAYED, QUEUED, PROCESSING = (
    str(TaskStatus.DELAYED),
    str(TaskStatus.QUEUED),
    str(TaskStatus.PROCESSING),
)
COMPLETED, FAILED, CANCELLED = (
    str(TaskStatus.COMPLETED),
    str(TaskStatus.FAILED),
    str(TaskStatus.CANCELLED),
)

COLUMNS = (
    "id", "type", "priority", "cost", "region", "resource_type", "status", "metadata",
    "enqueued_at", "started_at", "completed_at", "pool_id", "worker_id", "algorithm_used",
    "decision_summary", "deferral_reason", "error", "correlation_id", "queued_position",
    "position", "attempt", "max_attempts", "timeout_s", "ready_at", "ready_position",
    "leased_by", "lease_expires_at", "cancel_requested",
)  # fmt: skip
INSERT = f"INSERT INTO tasks ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"


class TasksProjection:
    name = "tasks"
    tables: tuple[str, ...] = ("tasks", "task_counts")

    def apply(self, db: Db, records: Sequence[EventRecord]) -> None:
        created: dict[str, Row] = {}
        changed: dict[str, Row] = {}
        before: dict[str, Row] = {}
        for record in records:
            if record.type == "TaskQueued":
                created[record.data["task_id"]] = tasks.start(record)
                continue
            columns = tasks.changes(record)
            if not columns:
                continue
            task_id = record.data["task_id"]
            if task_id in created:
                target = created[task_id]
            else:
                if task_id not in before:
                    found = db.execute(CURRENT, (task_id,)).fetchone()
                    before[task_id] = dict(zip(CURRENT_COLUMNS, found, strict=True))
                target = changed.setdefault(task_id, dict(before[task_id]))
            target.update(resolved(columns, target))
        counts = Deltas()
        if created:
            db.executemany(INSERT, [_stored(row) for row in created.values()])
            for row in created.values():
                counts.add((row["status"], row["type"], row["region"]), 1)
        by_columns: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for task_id, row in changed.items():
            old = before[task_id]
            names = tuple(sorted(c for c in row if c not in KEPT or row[c] != old[c]))
            by_columns.setdefault(names, []).append((*(row[c] for c in names), task_id))
            if row["status"] != old["status"]:
                counts.add((old["status"], old["type"], old["region"]), -1)
                counts.add((row["status"], old["type"], old["region"]), 1)
        for names, rows in by_columns.items():
            assignments = ", ".join(f"{column} = ?" for column in names)
            db.executemany(f"UPDATE tasks SET {assignments} WHERE id = ?", rows)
        counts.upsert(db, "task_counts", ("status", "type", "region"), "count")
        db.execute("DELETE FROM task_counts WHERE count = 0")

    def rebuild(self, db: Db, head: int, progress: Callable[[int], None] | None = None) -> None:
        rebuild_tasks(db, head, progress)


CURRENT_COLUMNS = ("status", "type", "region", "attempt")
CURRENT = f"SELECT {', '.join(CURRENT_COLUMNS)} FROM tasks WHERE id = ?"
KEPT = frozenset(CURRENT_COLUMNS)
"""Columns read before the batch: written back only when the batch changed them."""


def _stored(row: Row) -> tuple[Any, ...]:
    """A new row's values in COLUMNS order, its metadata as JSON text."""
    return tuple(orjson.dumps(row[c]).decode() if c == "metadata" else row[c] for c in COLUMNS)


Latest = Callable[[str, str], str]
"""SQL for the text `value` of the task's latest event meeting `cond` (NULL if none)."""


def _sqlite_latest(cond: str, value: str) -> str:
    return f"substr(MAX(CASE WHEN {cond} THEN printf('%012d', e.position) || {value} END), 13)"


def _postgres_latest(cond: str, value: str) -> str:
    padded = f"lpad(e.position::text, 12, '0') || {value}"
    return f'substr(MAX(CASE WHEN {cond} THEN ({padded}) COLLATE "C" END), 13)'


def _last(cond: str) -> str:
    return f"MAX(CASE WHEN {cond} THEN e.position END)"


def tasks_at(field: Field, latest: Latest) -> str:
    """Every task queued at positions (:low, :high], as the log says it was at :head, in
    the tasks table's column order: one pass over each task's stream, picking each
    column from the latest event that sets it."""

    def payload(path: str, kind: str = "text") -> str:
        return field("e.payload", path, kind)

    def queued(path: str, kind: str = "text") -> str:
        return field("s.queued", path, kind)

    is_ = "e.type = "
    status = status_after(field)
    ready = f"({is_}'TaskReady' OR ({is_}'TaskQueued' AND ({status}) = 'queued'))"
    lease_holder = "s.status = 'processing' AND s.last_leased > COALESCE(s.last_assigned, 0)"
    return f"""
SELECT
    {queued("task_id")}, {queued("type")}, {queued("priority", "integer")},
    {queued("cost", "real")}, {queued("region")}, {queued("resource_type")}, s.status,
    {queued("metadata", "json")}, {queued("enqueued_at")},
    s.started_at,
    CASE WHEN s.status IN ('{COMPLETED}', '{FAILED}') THEN NULLIF(s.moved_at, '') END,
    s.pool_id, s.worker_id, s.algorithm_used, s.decision_summary,
    CASE WHEN s.last_deferred > COALESCE(s.ready_position, 0) THEN s.deferral_reason END,
    s.error, s.correlation_id, s.queued_position, s.position, s.attempt,
    COALESCE({queued("max_attempts", "integer")}, 3), {queued("timeout_s", "real")},
    CASE WHEN s.status = '{DELAYED}' THEN NULLIF(s.moved_at, '') END,
    s.ready_position,
    CASE WHEN {lease_holder} THEN s.leased_by END,
    CASE WHEN {lease_holder} THEN s.lease_expires_at END,
    CASE WHEN s.status = 'processing' AND s.last_cancel_request > COALESCE(s.last_assigned, 0)
         THEN 1 ELSE 0 END
FROM (
    SELECT
        q.payload AS queued, q.correlation_id, q.position AS queued_position,
        MAX(e.position) AS position,
        {latest(f"e.type IN {IN_MOVING}", status)} AS status,
        {latest(f"e.type IN {IN_MOVING}", f"COALESCE({moved_at(field)}, '')")} AS moved_at,
        COUNT(CASE WHEN {is_}'WorkerAssigned' THEN 1 END) AS attempt,
        {_last(f"{is_}'WorkerAssigned'")} AS last_assigned,
        {latest(f"{is_}'WorkerAssigned'", payload("assigned_at"))} AS started_at,
        {latest(f"{is_}'WorkerAssigned'", payload("pool_id"))} AS pool_id,
        {latest(f"{is_}'WorkerAssigned'", payload("pool_name"))} AS worker_id,
        {latest(f"{is_}'WorkerAssigned'", payload("decision.algorithm"))} AS algorithm_used,
        {latest(f"{is_}'WorkerAssigned'", payload("decision.summary"))} AS decision_summary,
        {_last(f"{is_}'TaskDeferred'")} AS last_deferred,
        {latest(f"{is_}'TaskDeferred'", payload("decision.summary"))} AS deferral_reason,
        {_last(ready)} AS ready_position,
        {_last(f"{is_}'TaskLeased'")} AS last_leased,
        {latest(f"{is_}'TaskLeased'", payload("worker_id"))} AS leased_by,
        {latest("e.type IN ('TaskLeased', 'TaskLeaseExtended')", payload("expires_at"))}
            AS lease_expires_at,
        {_last(f"{is_}'TaskCancelRequested'")} AS last_cancel_request,
        {
        latest(
            "e.type IN ('TaskFailed', 'TaskLeaseExpired', 'TaskCancelled')",
            f"CASE e.type WHEN 'TaskLeaseExpired' "
            f"THEN 'lease of worker ' || {payload('worker_id')} || ' expired' "
            f"ELSE {payload('reason')} END",
        )
    } AS error
    FROM events q
    JOIN events e ON e.stream_id = q.stream_id AND +e.position <= :head
    WHERE q.type = 'TaskQueued' AND q.position > :low AND q.position <= :high
    GROUP BY q.position
) AS s
"""


TASKS_AT = tasks_at(sqlite_field, _sqlite_latest)
TASKS_AT_POSTGRES = tasks_at(postgres_field, _postgres_latest)

BULK_TASKS = f"INSERT INTO tasks ({', '.join(COLUMNS)})\n{TASKS_AT}"
BULK_COUNTS = (
    "INSERT INTO task_counts (status, type, region, count) "
    "SELECT status, type, region, COUNT(*) FROM tasks GROUP BY status, type, region"
)


BULK_CHUNK = 100_000


def rebuild_tasks(db: Db, head: int, progress: Callable[[int], None] | None = None) -> None:
    """The whole projection from the log up to `head`, set-based, into empty tables, in
    chunks of log positions so a caller can show progress. One pass over each task's
    stream picks up every column (a join per kind of event read every stream again); the
    random-history tests hold this equal to the incremental fold."""
    for low in range(0, head, BULK_CHUNK):
        high = min(low + BULK_CHUNK, head)
        db.execute(BULK_TASKS, {"head": head, "low": low, "high": high})
        if progress is not None:
            progress(high)
    db.execute(BULK_COUNTS)
