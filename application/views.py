"""Task and pool views folded straight from their streams: the same shape the projections
serve, used when a projection is behind the log (being rebuilt), so a read never misses or
misstates a committed write."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from application.messages import RecordedEvent
from domain.events import (
    PoolCapacityChanged,
    PoolSlotClaimed,
    PoolSlotReleased,
    TaskCancelled,
    TaskCompleted,
    TaskDeferred,
    TaskFailed,
    TaskQueued,
    WorkerAssigned,
    WorkerPoolRegistered,
)
from domain.values import TaskStatus


def iso_timestamp(moment: datetime) -> str:
    """Fixed-width ISO 8601 in UTC, so text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def task_view(history: Sequence[RecordedEvent]) -> dict[str, Any] | None:
    view: dict[str, Any] | None = None
    for recorded in history:
        event = recorded.event
        if isinstance(event, TaskQueued):
            view = _queued(event)
        if view is None:
            continue
        view["position"] = recorded.position
        match event:
            case WorkerAssigned():
                view.update(
                    status=str(TaskStatus.PROCESSING),
                    started_at=iso_timestamp(event.assigned_at),
                    pool_id=event.pool_id,
                    worker_id=event.pool_name,
                    algorithm_used=str(event.decision.algorithm),
                    decision_summary=event.decision.summary,
                )
            case TaskDeferred():
                view["deferral_reason"] = event.decision.summary
            case TaskCompleted():
                view.update(
                    status=str(TaskStatus.COMPLETED), completed_at=iso_timestamp(event.completed_at)
                )
            case TaskFailed():
                view.update(
                    status=str(TaskStatus.FAILED),
                    completed_at=iso_timestamp(event.failed_at),
                    error=event.reason,
                )
            case TaskCancelled():
                view.update(status=str(TaskStatus.CANCELLED), error=event.reason)
    return view


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
                }
            case PoolCapacityChanged(capacity=capacity) if view is not None:
                view["capacity"] = capacity
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


def _queued(event: TaskQueued) -> dict[str, Any]:
    return {
        "id": event.task_id,
        "type": str(event.type),
        "priority": event.priority,
        "cost": event.cost,
        "region": event.region,
        "resource_type": None if event.resource_type is None else str(event.resource_type),
        "status": str(TaskStatus.QUEUED),
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
        "position": 0,
    }
