"""Events for tests, with today's defaults for every field a test does not care about."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from domain.events import TaskQueued, WorkerPoolRegistered
from domain.values import Execution, ResourceType, TaskType

T0 = datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=UTC)


def task_queued(
    task_id: str = "t",
    type: TaskType = TaskType.ORDER,
    priority: int = 4,
    cost: float = 1.0,
    region: str = "us",
    resource_type: ResourceType | None = None,
    metadata: Mapping[str, Any] | None = None,
    enqueued_at: datetime = T0,
    max_attempts: int = 3,
    retry_backoff_s: float = 1.0,
    retry_backoff_max_s: float = 300.0,
    timeout_s: float | None = None,
    not_before: datetime | None = None,
    tenant: str = "default",
    preemptible: bool = False,
) -> TaskQueued:
    return TaskQueued(
        task_id, type, priority, cost, region, resource_type,
        {"k": 1} if metadata is None else metadata, enqueued_at, max_attempts,
        retry_backoff_s, retry_backoff_max_s, timeout_s, not_before, tenant, preemptible,
    )  # fmt: skip


def pool_registered(
    pool_id: str = "p1",
    name: str | None = None,
    region: str = "us",
    resource_type: ResourceType = ResourceType.CPU,
    cost_per_unit: float = 1.0,
    capacity: int = 4,
    registered_at: datetime = T0,
    execution: Execution = Execution.SIMULATED,
) -> WorkerPoolRegistered:
    return WorkerPoolRegistered(
        pool_id, name or pool_id, region, resource_type, cost_per_unit, capacity,
        registered_at, execution,
    )  # fmt: skip
