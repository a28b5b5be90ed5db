"""The `tasks` read model: one row per task as the task endpoints return it, and
`task_counts` per (status, type, region) so totals never scan the tasks table."""

from collections.abc import Callable, Sequence
from typing import Any

import orjson

from domain.values import TaskStatus
from infrastructure.sql.projections.base import Db, Deltas, EventRecord

QUEUED, PROCESSING = str(TaskStatus.QUEUED), str(TaskStatus.PROCESSING)
COMPLETED, FAILED, CANCELLED = (
    str(TaskStatus.COMPLETED),
    str(TaskStatus.FAILED),
    str(TaskStatus.CANCELLED),
)

COLUMNS = (
    "id", "type", "priority", "cost", "region", "resource_type", "status", "metadata",
    "enqueued_at", "started_at", "completed_at", "pool_id", "worker_id", "algorithm_used",
    "decision_summary", "deferral_reason", "error", "correlation_id", "queued_position",
    "position",
)  # fmt: skip
CHANGING = (
    "status", "position", "started_at", "completed_at", "pool_id", "worker_id",
    "algorithm_used", "decision_summary", "deferral_reason", "error",
)  # fmt: skip
INSERT = f"INSERT INTO tasks ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
UPDATE = (
    "UPDATE tasks SET status = ?, position = ?, "
    + ", ".join(f"{column} = COALESCE(?, {column})" for column in CHANGING[2:])
    + " WHERE id = ?"
)

TRANSITIONS = {
    "WorkerAssigned": (QUEUED, PROCESSING),
    "TaskCompleted": (PROCESSING, COMPLETED),
    "TaskFailed": (PROCESSING, FAILED),
    "TaskCancelled": (QUEUED, CANCELLED),
}


class TasksProjection:
    name = "tasks"
    tables: tuple[str, ...] = ("tasks", "task_counts")

    def apply(self, db: Db, records: Sequence[EventRecord]) -> None:
        created: dict[str, dict[str, Any]] = {}
        changed: dict[str, dict[str, Any]] = {}
        known: dict[str, tuple[str, str]] = {}
        counts = Deltas()
        for record in records:
            data = record.data
            if record.type == "TaskQueued":
                created[data["task_id"]] = _row(record)
                counts.add((QUEUED, data["type"], data["region"]), 1)
                continue
            changes = _changes(record)
            if changes is None:
                continue
            task_id = data["task_id"]
            row = created.get(task_id)
            if row is None:
                row = changed.setdefault(task_id, {})
            row.update(changes)
            if record.type in TRANSITIONS:
                before, after = TRANSITIONS[record.type]
                kind, region = _kind_and_region(db, task_id, created, known)
                counts.add((before, kind, region), -1)
                counts.add((after, kind, region), 1)
        if created:
            db.executemany(INSERT, [tuple(row[c] for c in COLUMNS) for row in created.values()])
        if changed:
            db.executemany(
                UPDATE,
                [(*(row.get(c) for c in CHANGING), task_id) for task_id, row in changed.items()],
            )
        counts.upsert(db, "task_counts", ("status", "type", "region"), "count")
        db.execute("DELETE FROM task_counts WHERE count = 0")

    def rebuild(self, db: Db, head: int, progress: Callable[[int], None] | None = None) -> None:
        rebuild_tasks(db, head, progress)


def _kind_and_region(
    db: Db, task_id: str, created: dict[str, dict[str, Any]], known: dict[str, tuple[str, str]]
) -> tuple[str, str]:
    row = created.get(task_id)
    if row is not None:
        return row["type"], row["region"]
    if task_id not in known:
        kind, region = db.execute(
            "SELECT type, region FROM tasks WHERE id = ?", (task_id,)
        ).fetchone()
        known[task_id] = (kind, region)
    return known[task_id]


def _row(record: EventRecord) -> dict[str, Any]:
    data = record.data
    return {
        "id": data["task_id"],
        "type": data["type"],
        "priority": data["priority"],
        "cost": float(data["cost"]),
        "region": data["region"],
        "resource_type": data["resource_type"],
        "status": QUEUED,
        "metadata": orjson.dumps(data["metadata"]).decode(),
        "enqueued_at": data["enqueued_at"],
        "started_at": None,
        "completed_at": None,
        "pool_id": None,
        "worker_id": None,
        "algorithm_used": None,
        "decision_summary": None,
        "deferral_reason": None,
        "error": None,
        "correlation_id": record.correlation_id,
        "queued_position": record.position,
        "position": record.position,
    }


def _changes(record: EventRecord) -> dict[str, Any] | None:
    data = record.data
    match record.type:
        case "WorkerAssigned":
            decision = data["decision"]
            return {
                "status": PROCESSING,
                "started_at": data["assigned_at"],
                "pool_id": data["pool_id"],
                "worker_id": data["pool_name"],
                "algorithm_used": decision["algorithm"],
                "decision_summary": decision["summary"],
                "position": record.position,
            }
        case "TaskDeferred":
            return {
                "status": QUEUED,
                "deferral_reason": data["decision"]["summary"],
                "position": record.position,
            }
        case "TaskCompleted":
            return {
                "status": COMPLETED,
                "completed_at": data["completed_at"],
                "position": record.position,
            }
        case "TaskFailed":
            return {
                "status": FAILED,
                "completed_at": data["failed_at"],
                "error": data["reason"],
                "position": record.position,
            }
        case "TaskCancelled":
            return {"status": CANCELLED, "error": data["reason"], "position": record.position}
    return None


def _of(kind: str, value: str) -> str:
    """The value from the task's one event of `kind` (NULL if it has none)."""
    return f"MAX(CASE e.type WHEN '{kind}' THEN {value} END)"


Field = Callable[[str, str, str], str]
"""SQL reading a payload field: (column, dotted path, "text" | "integer" | "real" | "json")."""


def tasks_at(field: Field) -> str:
    """Every task queued at positions (:low, :high], as the log says it was at :head, in
    the tasks table's column order."""
    return f"""
SELECT
    {field("s.queued", "task_id", "text")},
    {field("s.queued", "type", "text")},
    {field("s.queued", "priority", "integer")},
    {field("s.queued", "cost", "real")},
    {field("s.queued", "region", "text")},
    {field("s.queued", "resource_type", "text")},
    CASE
        WHEN s.completed IS NOT NULL THEN '{COMPLETED}'
        WHEN s.failed IS NOT NULL THEN '{FAILED}'
        WHEN s.assigned IS NOT NULL THEN '{PROCESSING}'
        WHEN s.cancelled IS NOT NULL THEN '{CANCELLED}'
        ELSE '{QUEUED}'
    END,
    {field("s.queued", "metadata", "json")},
    {field("s.queued", "enqueued_at", "text")},
    s.started_at, COALESCE(s.completed_at, s.failed_at), s.pool_id, s.worker_id,
    s.algorithm_used, s.decision_summary, s.deferral_reason, COALESCE(s.failure, s.cancellation),
    s.correlation_id, s.queued_position, s.position
FROM (
    SELECT
        q.payload AS queued, q.correlation_id, q.position AS queued_position,
        MAX(e.position) AS position,
        {_of("WorkerAssigned", "e.position")} AS assigned,
        {_of("WorkerAssigned", field("e.payload", "assigned_at", "text"))} AS started_at,
        {_of("WorkerAssigned", field("e.payload", "pool_id", "text"))} AS pool_id,
        {_of("WorkerAssigned", field("e.payload", "pool_name", "text"))} AS worker_id,
        {_of("WorkerAssigned", field("e.payload", "decision.algorithm", "text"))}
            AS algorithm_used,
        {_of("WorkerAssigned", field("e.payload", "decision.summary", "text"))}
            AS decision_summary,
        {_of("TaskDeferred", field("e.payload", "decision.summary", "text"))}
            AS deferral_reason,
        {_of("TaskCompleted", "e.position")} AS completed,
        {_of("TaskCompleted", field("e.payload", "completed_at", "text"))} AS completed_at,
        {_of("TaskFailed", "e.position")} AS failed,
        {_of("TaskFailed", field("e.payload", "failed_at", "text"))} AS failed_at,
        {_of("TaskFailed", field("e.payload", "reason", "text"))} AS failure,
        {_of("TaskCancelled", "e.position")} AS cancelled,
        {_of("TaskCancelled", field("e.payload", "reason", "text"))} AS cancellation
    FROM events q
    JOIN events e ON e.stream_id = q.stream_id AND +e.position <= :head
    WHERE q.type = 'TaskQueued' AND q.position > :low AND q.position <= :high
    GROUP BY q.position
) AS s
"""


def _sqlite_field(column: str, path: str, kind: str) -> str:
    return f"json_extract({column}, '$.{path}')"


def postgres_field(column: str, path: str, kind: str) -> str:
    pointer = "'{" + path.replace(".", ",") + "}'"
    if kind == "json":
        return f"(({column})::jsonb #> {pointer})::text"
    cast = {"integer": "::integer", "real": "::double precision"}.get(kind, "")
    return f"(({column})::jsonb #>> {pointer}){cast}"


TASKS_AT = tasks_at(_sqlite_field)
TASKS_AT_POSTGRES = tasks_at(postgres_field)

BULK_TASKS = f"INSERT INTO tasks ({', '.join(COLUMNS)})\n{TASKS_AT}"
BULK_COUNTS = (
    "INSERT INTO task_counts (status, type, region, count) "
    "SELECT status, type, region, COUNT(*) FROM tasks GROUP BY status, type, region"
)


BULK_CHUNK = 100_000


def rebuild_tasks(db: Db, head: int, progress: Callable[[int], None] | None = None) -> None:
    """The whole projection from the log up to `head`, set-based, into empty tables, in
    chunks of log positions so a caller can show progress. A task's stream holds at most
    one event of each kind after TaskQueued, so one pass over its stream picks each up
    (a join per kind read every stream five times); the random-history
    tests hold this equal to the incremental fold."""
    for low in range(0, head, BULK_CHUNK):
        high = min(low + BULK_CHUNK, head)
        db.execute(BULK_TASKS, {"head": head, "low": low, "high": high})
        if progress is not None:
            progress(high)
    db.execute(BULK_COUNTS)
