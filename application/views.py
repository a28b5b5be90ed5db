"""Task and pool views folded straight from their streams: the same shape the projections
serve, used when a projection is behind the log (being rebuilt), so a read never misses or
misstates a committed write."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from application.messages import RecordedEvent
from domain.events import (
    PoolCapacityChanged,
    PoolDrainStarted,
    PoolExecutionChanged,
    PoolResumed,
    PoolSlotClaimed,
    PoolSlotReleased,
    TaskCancelled,
    TaskCancelRequested,
    TaskCompleted,
    TaskDeferred,
    TaskFailed,
    TaskLeased,
    TaskLeaseExpired,
    TaskLeaseExtended,
    TaskQueued,
    TaskReady,
    TaskReleased,
    TaskRetried,
    WorkerAssigned,
    WorkerPoolRegistered,
)
from domain.task import status_move
from domain.values import TaskStatus


def iso_timestamp(moment: datetime) -> str:
    """Fixed-width ISO 8601 in UTC, so text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def task_view(history: Sequence[RecordedEvent]) -> dict[str, Any] | None:
    """The task as the tasks projection shows it, folded from its stream."""
    view: dict[str, Any] | None = None
    for recorded in history:
        event = recorded.event
        if isinstance(event, TaskQueued):
            view = _queued(event, recorded.position)
        if view is None:
            continue
        view["position"] = recorded.position
        moved = status_move(event)
        if moved is not None:
            view["status"] = str(moved[1])
        match event:
            case TaskReady():
                view.update(ready_at=None, deferral_reason=None)
            case WorkerAssigned():
                view.update(
                    started_at=iso_timestamp(event.assigned_at),
                    pool_id=event.pool_id,
                    worker_id=event.pool_name,
                    algorithm_used=str(event.decision.algorithm),
                    decision_summary=event.decision.summary,
                    attempt=view["attempt"] + 1,
                )
            case TaskDeferred():
                view["deferral_reason"] = event.decision.summary
            case TaskLeased():
                view["lease"] = {
                    "worker_id": event.worker_id,
                    "expires_at": iso_timestamp(event.expires_at),
                }
            case TaskLeaseExtended() if view["lease"] is not None:
                view["lease"] = {**view["lease"], "expires_at": iso_timestamp(event.expires_at)}
            case TaskCancelRequested():
                view["cancel_requested"] = True
            case TaskCompleted():
                view.update(completed_at=iso_timestamp(event.completed_at), **_NO_LEASE)
            case TaskFailed() | TaskLeaseExpired():
                error = (
                    event.reason
                    if isinstance(event, TaskFailed)
                    else f"lease of worker {event.worker_id} expired"
                )
                moment = event.failed_at if isinstance(event, TaskFailed) else event.expired_at
                view.update(error=error, **_NO_LEASE)
                if event.retry_at is None:
                    view["completed_at"] = iso_timestamp(moment)
                else:
                    view["ready_at"] = iso_timestamp(event.retry_at)
            case TaskReleased():
                view.update(ready_at=iso_timestamp(event.released_at), **_NO_LEASE)
            case TaskRetried():
                view.update(ready_at=iso_timestamp(event.retried_at), completed_at=None)
            case TaskCancelled():
                view.update(error=event.reason, ready_at=None, **_NO_LEASE)
    return view


_NO_LEASE: dict[str, Any] = {"lease": None, "cancel_requested": False}


def pool_view(history: Sequence[RecordedEvent]) -> dict[str, Any] | None:
    view: dict[str, Any] | None = None
    for recorded in history:
        match recorded.event:
            case WorkerPoolRegistered() as registered:
                view = {
                    "id": registered.pool_id,
                    "name": registered.name,
                    "region": registered.region,
                    "resource_type": str(registered.resource_type),
                    "cost_per_unit": registered.cost_per_unit,
                    "capacity": registered.capacity,
                    "current_load": 0,
                    "execution": str(registered.execution),
                    "draining": False,
                }
            case PoolCapacityChanged(capacity=capacity) if view is not None:
                view["capacity"] = capacity
            case PoolDrainStarted() | PoolResumed() if view is not None:
                view["draining"] = isinstance(recorded.event, PoolDrainStarted)
            case PoolExecutionChanged(execution=execution) if view is not None:
                view["execution"] = str(execution)
            case PoolSlotClaimed() if view is not None:
                view["current_load"] += 1
            case PoolSlotReleased() if view is not None:
                view["current_load"] -= 1
    if view is not None:
        view["utilization"] = utilization(view["current_load"], view["capacity"])
    return view


def utilization(load: int, capacity: int) -> float:
    """Percent of capacity in use, 0 for a pool with no capacity."""
    return round(100.0 * load / capacity, 2) if capacity else 0.0


def _queued(event: TaskQueued, position: int) -> dict[str, Any]:
    delayed = event.not_before is not None and event.not_before > event.enqueued_at
    return {
        "id": event.task_id,
        "type": str(event.type),
        "priority": event.priority,
        "cost": event.cost,
        "region": event.region,
        "resource_type": None if event.resource_type is None else str(event.resource_type),
        "status": str(TaskStatus.DELAYED if delayed else TaskStatus.QUEUED),
        "enqueued_at": iso_timestamp(event.enqueued_at),
        "started_at": None,
        "completed_at": None,
        "worker_id": None,
        "pool_id": None,
        "algorithm_used": None,
        "decision_summary": None,
        "deferral_reason": None,
        "error": None,
        "task_metadata": dict(event.metadata),
        "position": position,
        "attempt": 0,
        "max_attempts": event.max_attempts,
        "timeout_s": event.timeout_s,
        "ready_at": iso_timestamp(event.not_before) if event.not_before and delayed else None,
        "lease": None,
        "cancel_requested": False,
    }
