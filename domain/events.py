"""Domain events: immutable facts in the past tense, each with a schema version.

A new version of an event adds a class attribute bump and an upcaster (see
`UPCASTERS`), so events stored under an older schema still load.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from domain.scheduling.decision import Decision
from domain.values import Algorithm, ResourceType, TaskType


@dataclass(frozen=True)
class DomainEvent:
    schema_version: ClassVar[int] = 1

    @classmethod
    def type_name(cls) -> str:
        return cls.__name__


@dataclass(frozen=True)
class TaskQueued(DomainEvent):
    task_id: str
    type: TaskType
    priority: int
    cost: float
    region: str
    resource_type: ResourceType | None
    metadata: Mapping[str, Any]
    enqueued_at: datetime


@dataclass(frozen=True)
class WorkerAssigned(DomainEvent):
    task_id: str
    pool_id: str
    pool_name: str
    decision: Decision
    assigned_at: datetime


@dataclass(frozen=True)
class TaskDeferred(DomainEvent):
    task_id: str
    decision: Decision
    deferred_at: datetime


@dataclass(frozen=True)
class TaskCompleted(DomainEvent):
    task_id: str
    pool_id: str
    enqueued_at: datetime
    completed_at: datetime


@dataclass(frozen=True)
class TaskFailed(DomainEvent):
    task_id: str
    pool_id: str
    reason: str
    enqueued_at: datetime
    failed_at: datetime


@dataclass(frozen=True)
class TaskCancelled(DomainEvent):
    task_id: str
    reason: str
    cancelled_at: datetime


@dataclass(frozen=True)
class WorkerPoolRegistered(DomainEvent):
    pool_id: str
    name: str
    region: str
    resource_type: ResourceType
    cost_per_unit: float
    capacity: int
    registered_at: datetime


@dataclass(frozen=True)
class PoolCapacityChanged(DomainEvent):
    pool_id: str
    previous_capacity: int
    capacity: int
    changed_at: datetime


@dataclass(frozen=True)
class PoolSlotClaimed(DomainEvent):
    pool_id: str
    task_id: str


@dataclass(frozen=True)
class PoolSlotReleased(DomainEvent):
    pool_id: str
    task_id: str
    outcome: str


@dataclass(frozen=True)
class AlgorithmSwitched(DomainEvent):
    previous: Algorithm
    algorithm: Algorithm
    switched_at: datetime


EVENT_TYPES: dict[str, type[DomainEvent]] = {
    cls.type_name(): cls
    for cls in (
        TaskQueued,
        WorkerAssigned,
        TaskDeferred,
        TaskCompleted,
        TaskFailed,
        TaskCancelled,
        WorkerPoolRegistered,
        PoolCapacityChanged,
        PoolSlotClaimed,
        PoolSlotReleased,
        AlgorithmSwitched,
    )
}

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

UPCASTERS: dict[tuple[str, int], Upcaster] = {}
"""(event type, stored schema version) -> function lifting a payload one version up."""


def upcast(
    type_name: str,
    schema_version: int,
    payload: dict[str, Any],
    upcasters: Mapping[tuple[str, int], Upcaster] = UPCASTERS,
) -> dict[str, Any]:
    """Lift a stored payload to the current schema version of its event type."""
    current = EVENT_TYPES[type_name].schema_version
    while schema_version < current:
        payload = upcasters[(type_name, schema_version)](payload)
        schema_version += 1
    return payload
