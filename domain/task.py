"""The Task aggregate: queued -> processing -> completed | failed, or queued -> cancelled.

Command methods check an invariant and return the event; `when` folds an event into a new
state without checking anything, so history always replays.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from domain.errors import (
    DecisionMismatch,
    InvalidValue,
    ResourceMismatch,
    TaskAlreadyDeferred,
    TaskNotProcessing,
    TaskNotQueued,
)
from domain.events import (
    DomainEvent,
    TaskCancelled,
    TaskCompleted,
    TaskDeferred,
    TaskFailed,
    TaskQueued,
    WorkerAssigned,
)
from domain.scheduling.decision import Decision, TaskSnapshot
from domain.values import MAX_PRIORITY, MIN_PRIORITY, ResourceType, TaskStatus, TaskType
from domain.worker_pool import WorkerPool


def task_stream(task_id: str) -> str:
    return f"task-{task_id}"


@dataclass(frozen=True)
class Task:
    id: str
    type: TaskType
    priority: int
    cost: float
    region: str
    resource_type: ResourceType | None
    metadata: Mapping[str, Any]
    enqueued_at: datetime
    status: TaskStatus = TaskStatus.QUEUED
    pool_id: str | None = None
    deferred: bool = False

    @staticmethod
    def submit(
        task_id: str,
        type: TaskType,
        priority: int,
        cost: float,
        region: str,
        resource_type: ResourceType | None,
        metadata: Mapping[str, Any],
        now: datetime,
    ) -> TaskQueued:
        check_priority(priority)
        check_cost(cost)
        check_region(region)
        return TaskQueued(task_id, type, priority, cost, region, resource_type, dict(metadata), now)

    @property
    def snapshot(self) -> TaskSnapshot:
        return TaskSnapshot(self.id, self.priority, self.region, self.resource_type)

    def assign(self, pool: WorkerPool, decision: Decision, now: datetime) -> WorkerAssigned:
        self._check_queued("assigned")
        if self.resource_type is not None and pool.resource_type != self.resource_type:
            raise ResourceMismatch(self.id, self.resource_type, pool.resource_type)
        self._check_decision(decision, chosen=pool.id)
        return WorkerAssigned(self.id, pool.id, pool.name, decision, now)

    def defer(self, decision: Decision, now: datetime) -> TaskDeferred:
        self._check_queued("deferred")
        if self.deferred:
            raise TaskAlreadyDeferred(self.id)
        self._check_decision(decision, chosen=None)
        return TaskDeferred(self.id, decision, now)

    def _check_decision(self, decision: Decision, chosen: str | None) -> None:
        if decision.task != self.snapshot:
            raise DecisionMismatch(f"the decision is about another task than {self.id}")
        if decision.chosen_pool_id != chosen:
            raise DecisionMismatch(
                f"the decision chose {decision.chosen_pool_id or 'no pool'}, "
                f"not {chosen or 'no pool'}, for task {self.id}"
            )

    def complete(self, now: datetime) -> TaskCompleted:
        pool_id = self._check_processing("completed")
        return TaskCompleted(self.id, pool_id, self.enqueued_at, now)

    def fail(self, reason: str, now: datetime) -> TaskFailed:
        pool_id = self._check_processing("failed")
        return TaskFailed(self.id, pool_id, reason, self.enqueued_at, now)

    def cancel(self, reason: str, now: datetime) -> TaskCancelled:
        self._check_queued("cancelled")
        return TaskCancelled(self.id, reason, now)

    def _check_queued(self, action: str) -> None:
        if self.status is not TaskStatus.QUEUED:
            raise TaskNotQueued(self.id, self.status, action)

    def _check_processing(self, action: str) -> str:
        if self.status is not TaskStatus.PROCESSING or self.pool_id is None:
            raise TaskNotProcessing(self.id, self.status, action)
        return self.pool_id

    @staticmethod
    def start(event: DomainEvent) -> "Task":
        if not isinstance(event, TaskQueued):
            raise TypeError(f"a task stream cannot begin with {event.type_name()}")
        return Task(
            id=event.task_id,
            type=event.type,
            priority=event.priority,
            cost=event.cost,
            region=event.region,
            resource_type=event.resource_type,
            metadata=event.metadata,
            enqueued_at=event.enqueued_at,
        )

    def when(self, event: DomainEvent) -> "Task":
        match event:
            case WorkerAssigned(pool_id=pool_id):
                return replace(self, status=TaskStatus.PROCESSING, pool_id=pool_id)
            case TaskDeferred():
                return replace(self, deferred=True)
            case TaskCompleted():
                return replace(self, status=TaskStatus.COMPLETED)
            case TaskFailed():
                return replace(self, status=TaskStatus.FAILED)
            case TaskCancelled():
                return replace(self, status=TaskStatus.CANCELLED)
        return self


def check_priority(priority: int) -> None:
    if not MIN_PRIORITY <= priority <= MAX_PRIORITY:
        raise InvalidValue(
            f"priority must be between {MIN_PRIORITY} and {MAX_PRIORITY}, got {priority}"
        )


def check_cost(cost: float) -> None:
    if not (math.isfinite(cost) and cost > 0):
        raise InvalidValue(f"cost must be a finite number above 0, got {cost}")


def check_region(region: str) -> None:
    if not region.strip():
        raise InvalidValue("region must not be empty")
