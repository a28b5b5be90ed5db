"""The WorkerPool aggregate: a group of workers whose load stays within 0..capacity."""

import math
from dataclasses import dataclass, replace
from datetime import datetime

from domain.errors import (
    CapacityBelowLoad,
    InvalidValue,
    PoolAtCapacity,
    PoolBusy,
    PoolDraining,
    PoolNotExternal,
    TaskNotInPool,
)
from domain.events import (
    DomainEvent,
    PoolCapacityChanged,
    PoolDrainStarted,
    PoolExecutionChanged,
    PoolResumed,
    PoolSlotClaimed,
    PoolSlotReleased,
    WorkerPoolRegistered,
)
from domain.values import Execution, ResourceType


def pool_stream(pool_id: str) -> str:
    return f"pool-{pool_id}"


@dataclass(frozen=True)
class WorkerPool:
    id: str
    name: str
    region: str
    resource_type: ResourceType
    cost_per_unit: float
    capacity: int
    load: int = 0
    execution: Execution = Execution.SIMULATED
    draining: bool = False
    """Takes no new tasks; the running ones finish."""

    @staticmethod
    def register(
        pool_id: str,
        name: str,
        region: str,
        resource_type: ResourceType,
        cost_per_unit: float,
        capacity: int,
        now: datetime,
        execution: Execution = Execution.SIMULATED,
    ) -> WorkerPoolRegistered:
        if not name.strip():
            raise InvalidValue("a worker pool needs a name")
        if not region.strip():
            raise InvalidValue("a worker pool needs a region")
        if not (math.isfinite(cost_per_unit) and cost_per_unit >= 0):
            raise InvalidValue(f"cost_per_unit must be finite and >= 0, got {cost_per_unit}")
        check_capacity(capacity)
        return WorkerPoolRegistered(
            pool_id, name, region, resource_type, cost_per_unit, capacity, now, execution
        )

    @property
    def free(self) -> int:
        return self.capacity - self.load

    def claim(self, task_id: str, attempt: int = 1) -> PoolSlotClaimed:
        if self.draining:
            raise PoolDraining(self.name)
        if self.load >= self.capacity:
            raise PoolAtCapacity(self.name, self.capacity)
        return PoolSlotClaimed(self.id, task_id, attempt)

    def release(self, task_id: str, outcome: str) -> PoolSlotReleased:
        if self.load <= 0:
            raise TaskNotInPool(task_id, self.name)
        return PoolSlotReleased(self.id, task_id, outcome)

    def change_capacity(self, capacity: int, now: datetime) -> PoolCapacityChanged:
        check_capacity(capacity)
        if capacity < self.load:
            raise CapacityBelowLoad(self.name, capacity, self.load)
        return PoolCapacityChanged(self.id, self.capacity, capacity, now)

    def drain(self, now: datetime) -> list[PoolDrainStarted]:
        """Stop taking new tasks; draining a draining pool records nothing."""
        return [] if self.draining else [PoolDrainStarted(self.id, now)]

    def resume(self, now: datetime) -> list[PoolResumed]:
        return [PoolResumed(self.id, now)] if self.draining else []

    def change_execution(self, execution: Execution, now: datetime) -> list[PoolExecutionChanged]:
        """Only an idle pool changes hands: its running tasks stay with who runs them."""
        if execution is self.execution:
            return []
        if self.load > 0:
            raise PoolBusy(self.name, self.load)
        return [PoolExecutionChanged(self.id, self.execution, execution, now)]

    def check_external(self) -> None:
        if self.execution is not Execution.EXTERNAL:
            raise PoolNotExternal(self.name)

    @staticmethod
    def start(event: DomainEvent) -> "WorkerPool":
        if not isinstance(event, WorkerPoolRegistered):
            raise TypeError(f"a pool stream cannot begin with {event.type_name()}")
        return WorkerPool(
            id=event.pool_id,
            name=event.name,
            region=event.region,
            resource_type=event.resource_type,
            cost_per_unit=event.cost_per_unit,
            capacity=event.capacity,
            execution=event.execution,
        )

    def when(self, event: DomainEvent) -> "WorkerPool":
        match event:
            case PoolSlotClaimed():
                return replace(self, load=self.load + 1)
            case PoolSlotReleased():
                return replace(self, load=self.load - 1)
            case PoolCapacityChanged(capacity=capacity):
                return replace(self, capacity=capacity)
            case PoolDrainStarted():
                return replace(self, draining=True)
            case PoolResumed():
                return replace(self, draining=False)
            case PoolExecutionChanged(execution=execution):
                return replace(self, execution=execution)
        return self


def check_capacity(capacity: int) -> None:
    if capacity < 0:
        raise InvalidValue(f"capacity must be 0 or more, got {capacity}")
