"""The WorkerPool aggregate: a group of workers whose load stays within 0..capacity."""

import math
from dataclasses import dataclass, replace
from datetime import datetime

from domain.errors import CapacityBelowLoad, InvalidValue, PoolAtCapacity, TaskNotInPool
from domain.events import (
    DomainEvent,
    PoolCapacityChanged,
    PoolSlotClaimed,
    PoolSlotReleased,
    WorkerPoolRegistered,
)
from domain.values import ResourceType


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

    @staticmethod
    def register(
        pool_id: str,
        name: str,
        region: str,
        resource_type: ResourceType,
        cost_per_unit: float,
        capacity: int,
        now: datetime,
    ) -> WorkerPoolRegistered:
        if not name.strip():
            raise InvalidValue("a worker pool needs a name")
        if not region.strip():
            raise InvalidValue("a worker pool needs a region")
        if not (math.isfinite(cost_per_unit) and cost_per_unit >= 0):
            raise InvalidValue(f"cost_per_unit must be finite and >= 0, got {cost_per_unit}")
        check_capacity(capacity)
        return WorkerPoolRegistered(
            pool_id, name, region, resource_type, cost_per_unit, capacity, now
        )

    @property
    def free(self) -> int:
        return self.capacity - self.load

    def claim(self, task_id: str) -> PoolSlotClaimed:
        if self.load >= self.capacity:
            raise PoolAtCapacity(self.name, self.capacity)
        return PoolSlotClaimed(self.id, task_id)

    def release(self, task_id: str, outcome: str) -> PoolSlotReleased:
        if self.load <= 0:
            raise TaskNotInPool(task_id, self.name)
        return PoolSlotReleased(self.id, task_id, outcome)

    def change_capacity(self, capacity: int, now: datetime) -> PoolCapacityChanged:
        check_capacity(capacity)
        if capacity < self.load:
            raise CapacityBelowLoad(self.name, capacity, self.load)
        return PoolCapacityChanged(self.id, self.capacity, capacity, now)

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
        )

    def when(self, event: DomainEvent) -> "WorkerPool":
        match event:
            case PoolSlotClaimed():
                return replace(self, load=self.load + 1)
            case PoolSlotReleased():
                return replace(self, load=self.load - 1)
            case PoolCapacityChanged(capacity=capacity):
                return replace(self, capacity=capacity)
        return self


def check_capacity(capacity: int) -> None:
    if capacity < 0:
        raise InvalidValue(f"capacity must be 0 or more, got {capacity}")
