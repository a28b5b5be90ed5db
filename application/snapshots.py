"""Start-up state for the long-running reactors, read consistently at one log position."""

from collections.abc import Sequence
from dataclasses import dataclass

from domain.scheduling import PoolSnapshot
from domain.values import Algorithm, ResourceType


@dataclass(frozen=True)
class WaitingTask:
    task_id: str
    priority: int
    region: str
    resource_type: ResourceType | None
    queued_position: int
    correlation_id: str
    deferred: bool


@dataclass(frozen=True)
class SchedulerState:
    position: int
    algorithm: Algorithm
    pools: Sequence[PoolSnapshot]
    waiting: Sequence[WaitingTask]


@dataclass(frozen=True)
class RunningTask:
    task_id: str
    correlation_id: str


@dataclass(frozen=True)
class RunningTasks:
    position: int
    tasks: Sequence[RunningTask]
