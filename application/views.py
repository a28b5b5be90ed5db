"""Views built straight from events, for when a read model cannot answer yet."""

from typing import Any

from application.messages import RecordedEvent
from domain.events import TaskQueued
from domain.values import TaskStatus


def queued_task_view(recorded: RecordedEvent) -> dict[str, Any]:
    """The task as its TaskQueued event describes it (while `tasks` is being rebuilt)."""
    event = recorded.event
    assert isinstance(event, TaskQueued)
    return {
        "id": event.task_id,
        "type": str(event.type),
        "priority": event.priority,
        "cost": event.cost,
        "region": event.region,
        "resource_type": None if event.resource_type is None else str(event.resource_type),
        "status": str(TaskStatus.QUEUED),
        "enqueued_at": event.enqueued_at.isoformat(timespec="microseconds"),
        "started_at": None,
        "completed_at": None,
        "worker_id": None,
        "pool_id": None,
        "algorithm_used": None,
        "decision_summary": None,
        "deferral_reason": None,
        "error": None,
        "task_metadata": dict(event.metadata),
        "position": recorded.position,
    }
