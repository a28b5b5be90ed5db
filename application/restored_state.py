"""Start-up state for the long-running reactors, read consistently at one log position."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.scheduling import PoolSnapshot
from domain.tenant import DEFAULT_TENANT, Tenant
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
    tenant: str = DEFAULT_TENANT
    preemptible: bool = False


@dataclass(frozen=True)
class HeldSlot:
    """A running task's slot, as fair share counts it (whose task, on which resource
    type) and as preemption sees it (the pool, the task's priority, whether it may be
    preempted and when its attempt started, in microseconds since the epoch)."""

    task_id: str
    tenant: str
    resource_type: ResourceType
    pool_id: str = ""
    priority: int = 5
    preemptible: bool = False
    started_us: int = 0


@dataclass(frozen=True)
class SchedulerState:
    position: int
    algorithm: Algorithm
    pools: Sequence[PoolSnapshot]
    waiting: Sequence[WaitingTask]
    tenants: Sequence[Tenant] = ()
    """The tenants with settings of their own (the default one if changed)."""
    held: Sequence[HeldSlot] = ()


@dataclass(frozen=True)
class RunningTask:
    task_id: str
    correlation_id: str
    attempt: int = 1


@dataclass(frozen=True)
class RunningTasks:
    """Tasks running in simulated pools, and the pools external workers run."""

    position: int
    tasks: Sequence[RunningTask]
    external_pools: frozenset[str] = frozenset()


@dataclass(frozen=True)
class TimedTask:
    """An unfinished task the timekeeper watches: its due times, and its timeout with the
    attempts it has started (a later assignment starts the next attempt's clock)."""

    task_id: str
    correlation_id: str
    ready_at: datetime | None
    lease_expires_at: datetime | None
    timeout_s: float | None
    attempt: int
    started_at: datetime | None


@dataclass(frozen=True)
class TimekeeperState:
    position: int
    tasks: Sequence[TimedTask]
