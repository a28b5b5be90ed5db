"""The task row: one per task, as the task endpoints show it.

`start` makes the row from TaskQueued; `fold` gives the columns any later event changes,
from `CHANGES` (this read model's entry for every event type) and the task status rule
(`domain.task.status_move`, which the aggregate moves by too). `view` is the row as the
API returns it."""

from collections.abc import Callable, Iterable
from typing import Any

from application.read_models.record import Add, Recorded, Row, changing, fold_stream, resolved
from domain.task import status_move
from domain.values import TaskStatus

Change = Callable[[Recorded], Row]
"""The event -> the columns it changes (besides status and position): set, or `Add`ed to."""

NO_LEASE: Row = {"leased_by": None, "lease_expires_at": None, "cancel_requested": 0}
"""What the end of an attempt clears."""


def unchanged(record: Recorded) -> Row:
    return {}


def start(record: Recorded) -> Row:
    """The row of a task just queued (a TaskQueued event)."""
    data = record.data
    moved = status_move(record.type, data)
    assert moved is not None, f"a task starts with TaskQueued, not {record.type}"
    status = moved[1]
    delayed = status is TaskStatus.DELAYED
    return {
        "id": data["task_id"],
        "type": data["type"],
        "priority": data["priority"],
        "cost": float(data["cost"]),
        "region": data["region"],
        "resource_type": data["resource_type"],
        "status": str(status),
        "metadata": data["metadata"],
        "enqueued_at": data["enqueued_at"],
        "started_at": None,
        "completed_at": None,
        "pool_id": None,
        "pool_name": None,
        "algorithm_used": None,
        "decision_summary": None,
        "deferral_reason": None,
        "error": None,
        "correlation_id": record.correlation_id,
        "queued_position": record.position,
        "position": record.position,
        "attempt": 0,
        "max_attempts": data["max_attempts"],
        "timeout_s": data["timeout_s"],
        "ready_at": data["not_before"] if delayed else None,
        "ready_position": None if delayed else record.position,
        "leased_by": None,
        "lease_expires_at": None,
        "cancel_requested": 0,
        "tenant": data["tenant"],
        "preemptible": int(data["preemptible"]),
    }


def changes(record: Recorded) -> Row:
    """The columns `record` changes in its task's row, with its status and position (empty
    for other aggregates' events); an `Add` is added to the column's value."""
    change = CHANGES[record.type]
    if change is unchanged:
        return {}
    columns = change(record)
    moved = status_move(record.type, record.data)
    if moved is not None:
        columns["status"] = str(moved[1])
    columns["position"] = record.position
    return columns


def fold(record: Recorded, row: Row) -> Row:
    """The new values of the columns `record` changes in its task's `row`."""
    return resolved(changes(record), row)


def folded(history: Iterable[Recorded]) -> Row | None:
    """A task's row from its stream (None before its TaskQueued)."""
    return fold_stream(history, "TaskQueued", start, fold)


def _assigned(record: Recorded) -> Row:
    data = record.data
    decision = data["decision"]
    return {
        "started_at": data["assigned_at"],
        "pool_id": data["pool_id"],
        "pool_name": data["pool_name"],
        "algorithm_used": decision["algorithm"],
        "decision_summary": decision["summary"],
        "attempt": Add(1),
    }


def _attempt_ended(error: str, moment: str, retry_at: str | None) -> Row:
    """A failed attempt: finished for good, or waiting for the next one."""
    if retry_at is None:
        return {"completed_at": moment, "error": error, **NO_LEASE}
    return {"ready_at": retry_at, "error": error, **NO_LEASE}


def _failed(record: Recorded) -> Row:
    data = record.data
    return _attempt_ended(data["reason"], data["failed_at"], data["retry_at"])


def _lease_expired(record: Recorded) -> Row:
    data = record.data
    error = f"lease of worker {data['worker_id']} expired"
    return _attempt_ended(error, data["expired_at"], data["retry_at"])


CHANGES: dict[str, Change] = {
    "TaskQueued": unchanged,  # makes the row: `start`
    "TaskReady": lambda record: {
        "ready_at": None, "ready_position": record.position, "deferral_reason": None,
        "preemptible": int(record.data["preemptible"]),  # the scheduler's, from here on
    },
    "TaskDeferred": lambda record: {
        "deferral_reason": record.data["decision"]["summary"],
    },
    "WorkerAssigned": _assigned,
    "TaskLeased": lambda record: {
        "leased_by": record.data["worker_id"], "lease_expires_at": record.data["expires_at"],
    },
    "TaskLeaseExtended": lambda record: {"lease_expires_at": record.data["expires_at"]},
    "TaskCancelRequested": lambda record: {"cancel_requested": 1},
    "TaskCompleted": lambda record: {
        "completed_at": record.data["completed_at"], **NO_LEASE,
    },
    "TaskFailed": _failed,
    "TaskLeaseExpired": _lease_expired,
    "TaskReleased": lambda record: {"ready_at": record.data["released_at"], **NO_LEASE},
    "TaskPreempted": lambda record: {
        "ready_at": record.data["preempted_at"],
        "error": f"preempted: {record.data['rule']}",
        **NO_LEASE,
    },
    "TaskRetried": lambda record: {
        "ready_at": record.data["retried_at"], "completed_at": None,
    },
    "TaskCancelled": lambda record: {
        "error": record.data["reason"], "ready_at": None, **NO_LEASE,
    },
    "TaskDeadLettered": lambda record: {},  # its task's position moves, nothing else
    "WorkerPoolRegistered": unchanged,
    "PoolCapacityChanged": unchanged,
    "PoolDrainStarted": unchanged,
    "PoolResumed": unchanged,
    "PoolExecutionChanged": unchanged,
    "PoolSlotClaimed": unchanged,
    "PoolSlotReleased": unchanged,
    "AlgorithmSwitched": unchanged,
    "TenantCreated": unchanged,
    "TenantChanged": unchanged,
}  # fmt: skip

TYPES = changing(CHANGES, unchanged) | {"TaskQueued"}
"""The event types that change this read model."""


def view(row: Row) -> dict[str, Any]:
    """The task as the API shows it."""
    return {
        "id": row["id"],
        "type": row["type"],
        "priority": row["priority"],
        "cost": row["cost"],
        "region": row["region"],
        "resource_type": row["resource_type"],
        "status": row["status"],
        "enqueued_at": row["enqueued_at"],
        "started_at": row["started_at"],
        "completed_at": row["completed_at"],
        "worker_id": row["pool_name"],  # the v1 API's name for the pool
        "pool_id": row["pool_id"],
        "algorithm_used": row["algorithm_used"],
        "decision_summary": row["decision_summary"],
        "deferral_reason": row["deferral_reason"],
        "error": row["error"],
        "task_metadata": row["metadata"],
        "position": row["position"],
        "attempt": row["attempt"],
        "max_attempts": row["max_attempts"],
        "timeout_s": row["timeout_s"],
        "ready_at": row["ready_at"],
        "lease": None
        if row["leased_by"] is None
        else {"worker_id": row["leased_by"], "expires_at": row["lease_expires_at"]},
        "cancel_requested": bool(row["cancel_requested"]),
        "tenant": row["tenant"],
        "preemptible": bool(row["preemptible"]),
    }
