"""The task status each event leaves behind, in SQL, for the set-based rebuild and time
travel (the incremental fold states the same in Python; `domain.task.status_move` is the
rule both follow, and the random-history tests hold all three equal).

`Field` renders a payload field in the database's SQL: (column, dotted path, kind) with
kind "text", "integer", "real" or "json"."""

from collections.abc import Callable

Field = Callable[[str, str, str], str]

MOVING = (
    "TaskQueued", "TaskReady", "WorkerAssigned", "TaskCompleted", "TaskFailed",
    "TaskLeaseExpired", "TaskReleased", "TaskRetried", "TaskCancelled",
)  # fmt: skip
"""The event types that change a task's status."""

IN_MOVING = "(" + ", ".join(f"'{kind}'" for kind in MOVING) + ")"


def status_after(field: Field, e: str = "e") -> str:
    """The status an event (row alias `e`) leaves its task in; NULL if it moves none."""
    payload = f"{e}.payload"
    not_before = field(payload, "not_before", "text")
    retry_at = field(payload, "retry_at", "text")
    return f"""CASE {e}.type
        WHEN 'TaskQueued' THEN CASE WHEN {not_before} > {field(payload, "enqueued_at", "text")}
                               THEN 'delayed' ELSE 'queued' END
        WHEN 'TaskReady' THEN 'queued'
        WHEN 'WorkerAssigned' THEN 'processing'
        WHEN 'TaskCompleted' THEN 'completed'
        WHEN 'TaskFailed' THEN CASE WHEN {retry_at} IS NULL THEN 'failed' ELSE 'delayed' END
        WHEN 'TaskLeaseExpired' THEN CASE WHEN {retry_at} IS NULL THEN 'failed'
                                     ELSE 'delayed' END
        WHEN 'TaskReleased' THEN 'delayed'
        WHEN 'TaskRetried' THEN 'delayed'
        WHEN 'TaskCancelled' THEN 'cancelled'
    END"""


def status_before(field: Field, e: str = "e") -> str:
    """The status a status-moving event found its task in ('' for a new task)."""
    return f"""CASE {e}.type
        WHEN 'TaskQueued' THEN ''
        WHEN 'TaskReady' THEN 'delayed'
        WHEN 'WorkerAssigned' THEN 'queued'
        WHEN 'TaskRetried' THEN 'failed'
        WHEN 'TaskCancelled' THEN COALESCE({field(f"{e}.payload", "from_status", "text")},
                                           'queued')
        ELSE 'processing'
    END"""


def moved_at(field: Field, e: str = "e") -> str:
    """When the status an event moved to began: for `delayed`, when the wait ends."""
    payload = f"{e}.payload"

    def text(path: str) -> str:
        return field(payload, path, "text")

    return f"""CASE {e}.type
        WHEN 'TaskQueued' THEN {text("not_before")}
        WHEN 'TaskCompleted' THEN {text("completed_at")}
        WHEN 'TaskFailed' THEN COALESCE({text("retry_at")}, {text("failed_at")})
        WHEN 'TaskLeaseExpired' THEN COALESCE({text("retry_at")}, {text("expired_at")})
        WHEN 'TaskReleased' THEN {text("released_at")}
        WHEN 'TaskRetried' THEN {text("retried_at")}
    END"""


def sqlite_field(column: str, path: str, kind: str) -> str:
    return f"json_extract({column}, '$.{path}')"


def postgres_field(column: str, path: str, kind: str) -> str:
    pointer = "'{" + path.replace(".", ",") + "}'"
    if kind == "json":
        return f"(({column})::jsonb #> {pointer})::text"
    cast = {"integer": "::integer", "real": "::double precision"}.get(kind, "")
    return f"(({column})::jsonb #>> {pointer}){cast}"
