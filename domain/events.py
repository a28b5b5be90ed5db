"""Domain events: immutable facts in the past tense, each with a schema version.

A new version of an event adds a class attribute bump and an upcaster (see
`UPCASTERS`), so events stored under an older schema still load.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from domain.scheduling.decision import Decision
from domain.scheduling.record import DecisionRecord
from domain.values import Algorithm, Execution, Limits, ResourceType, TaskStatus, TaskType


@dataclass(frozen=True)
class DomainEvent:
    schema_version: ClassVar[int] = 1

    @classmethod
    def type_name(cls) -> str:
        return cls.__name__


@dataclass(frozen=True)
class TaskQueued(DomainEvent):
    """A task submitted; with `not_before` after `enqueued_at` it waits (delayed) until then.
    It belongs to `tenant`; a `preemptible` one may be stopped for another tenant's task."""

    schema_version: ClassVar[int] = 3
    task_id: str
    type: TaskType
    priority: int
    cost: float
    region: str
    resource_type: ResourceType | None
    metadata: Mapping[str, Any]
    enqueued_at: datetime
    max_attempts: int
    retry_backoff_s: float
    retry_backoff_max_s: float
    timeout_s: float | None
    not_before: datetime | None
    tenant: str = "default"
    preemptible: bool = False


@dataclass(frozen=True)
class WorkerAssigned(DomainEvent):
    """Schema 3 records the decision as a DecisionRecord (its inputs are rebuilt from the
    log); schemas 1 and 2 carried the whole Decision, every pool as seen. Schema 4 adds the
    record's tenant stage."""

    schema_version: ClassVar[int] = 4
    task_id: str
    pool_id: str
    pool_name: str
    decision: DecisionRecord | Decision
    assigned_at: datetime


@dataclass(frozen=True)
class TaskDeferred(DomainEvent):
    """Its decision as WorkerAssigned's."""

    schema_version: ClassVar[int] = 4
    task_id: str
    decision: DecisionRecord | Decision
    deferred_at: datetime


@dataclass(frozen=True)
class TaskCompleted(DomainEvent):
    task_id: str
    pool_id: str
    enqueued_at: datetime
    completed_at: datetime


@dataclass(frozen=True)
class TaskFailed(DomainEvent):
    """An attempt failed. With `retry_at` the task waits (delayed) for its next attempt;
    without, it has failed for good (and a TaskDeadLettered follows when it had retries)."""

    schema_version: ClassVar[int] = 2
    task_id: str
    pool_id: str
    reason: str
    enqueued_at: datetime
    failed_at: datetime
    attempt: int
    retry_at: datetime | None


@dataclass(frozen=True)
class TaskCancelled(DomainEvent):
    schema_version: ClassVar[int] = 2
    task_id: str
    reason: str
    cancelled_at: datetime
    from_status: TaskStatus
    pool_id: str | None


@dataclass(frozen=True)
class TaskReady(DomainEvent):
    """A delayed task's time came: it joins the waiting queue. Carries what the scheduler
    orders and places it by, as TaskQueued does."""

    schema_version: ClassVar[int] = 3
    task_id: str
    priority: int
    region: str
    resource_type: ResourceType | None
    ready_at: datetime
    tenant: str = "default"
    preemptible: bool = False


@dataclass(frozen=True)
class TaskLeased(DomainEvent):
    task_id: str
    pool_id: str
    attempt: int
    worker_id: str
    lease_token: str
    leased_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class TaskLeaseExtended(DomainEvent):
    task_id: str
    lease_token: str
    expires_at: datetime


@dataclass(frozen=True)
class TaskLeaseExpired(DomainEvent):
    """No heartbeat within the lease: the attempt failed. `retry_at` as in TaskFailed."""

    task_id: str
    pool_id: str
    attempt: int
    worker_id: str
    expired_at: datetime
    retry_at: datetime | None


@dataclass(frozen=True)
class TaskReleased(DomainEvent):
    """The worker gave the task back unfinished (shutting down): not a failure; the task
    waits for a new attempt."""

    task_id: str
    pool_id: str
    attempt: int
    worker_id: str
    reason: str
    released_at: datetime


@dataclass(frozen=True)
class TaskPreempted(DomainEvent):
    """The scheduler stopped a preemptible task's attempt so that a waiting task (the
    beneficiary) can take its slot: not a failure; the task waits for a new attempt at
    once, as a released one does. The rule and the shares are fair share's
    (`domain.scheduling.fair_share.choose_victim`), made on the scheduler's state at log
    position `seen` (scheduler run `run`), from which the audit makes the choice again."""

    task_id: str
    pool_id: str
    attempt: int
    tenant: str
    beneficiary: str
    beneficiary_tenant: str
    rule: str
    victim_share: float
    beneficiary_share: float
    seen: int
    run: str
    preempted_at: datetime


@dataclass(frozen=True)
class TaskCancelRequested(DomainEvent):
    """Cancelling a task a worker holds: the worker learns it on its next heartbeat."""

    task_id: str
    reason: str
    requested_at: datetime


@dataclass(frozen=True)
class TaskDeadLettered(DomainEvent):
    task_id: str
    attempts: int
    reason: str
    dead_lettered_at: datetime


@dataclass(frozen=True)
class TaskRetried(DomainEvent):
    """An operator sent a failed task back for a new round of attempts."""

    task_id: str
    retried_at: datetime


@dataclass(frozen=True)
class WorkerPoolRegistered(DomainEvent):
    schema_version: ClassVar[int] = 2
    pool_id: str
    name: str
    region: str
    resource_type: ResourceType
    cost_per_unit: float
    capacity: int
    registered_at: datetime
    execution: Execution


@dataclass(frozen=True)
class PoolCapacityChanged(DomainEvent):
    pool_id: str
    previous_capacity: int
    capacity: int
    changed_at: datetime


@dataclass(frozen=True)
class PoolDrainStarted(DomainEvent):
    pool_id: str
    started_at: datetime


@dataclass(frozen=True)
class PoolResumed(DomainEvent):
    pool_id: str
    resumed_at: datetime


@dataclass(frozen=True)
class PoolExecutionChanged(DomainEvent):
    pool_id: str
    previous: Execution
    execution: Execution
    changed_at: datetime


@dataclass(frozen=True)
class PoolSlotClaimed(DomainEvent):
    """A slot taken by one attempt of a task (its number fences reports on the attempt)."""

    schema_version: ClassVar[int] = 2
    pool_id: str
    task_id: str
    attempt: int = 1


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


@dataclass(frozen=True)
class TenantCreated(DomainEvent):
    tenant: str
    weight: float
    quota: Limits
    borrowing: Limits
    created_at: datetime


@dataclass(frozen=True)
class TenantChanged(DomainEvent):
    """A tenant's whole configuration after the change (the `default` tenant's stream may
    begin with one: it exists without being created)."""

    tenant: str
    weight: float
    quota: Limits
    borrowing: Limits
    changed_at: datetime


EVENT_TYPES: dict[str, type[DomainEvent]] = {
    cls.type_name(): cls
    for cls in (
        TaskQueued,
        WorkerAssigned,
        TaskDeferred,
        TaskCompleted,
        TaskFailed,
        TaskCancelled,
        TaskReady,
        TaskLeased,
        TaskLeaseExtended,
        TaskLeaseExpired,
        TaskReleased,
        TaskPreempted,
        TaskCancelRequested,
        TaskDeadLettered,
        TaskRetried,
        WorkerPoolRegistered,
        PoolCapacityChanged,
        PoolDrainStarted,
        PoolResumed,
        PoolExecutionChanged,
        PoolSlotClaimed,
        PoolSlotReleased,
        AlgorithmSwitched,
        TenantCreated,
        TenantChanged,
    )
}

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


def _task_queued_v1(payload: dict[str, Any]) -> dict[str, Any]:
    """Before retries, leases and delays: the defaults a submission gets today."""
    return {
        **payload,
        "max_attempts": 3,
        "retry_backoff_s": 1.0,
        "retry_backoff_max_s": 300.0,
        "timeout_s": None,
        "not_before": None,
    }


def _task_queued_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """Before tenants every task was the default tenant's, and none could be preempted."""
    return {**payload, "tenant": "default", "preemptible": False}


def _task_ready_v1(payload: dict[str, Any]) -> dict[str, Any]:
    """Before tenants every task was the default tenant's."""
    return {**payload, "tenant": "default"}


def _task_ready_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """Before preemption a ready task did not say whether it may be preempted: it is not
    (a preemptible task made ready by such an event runs that attempt unpreemptible)."""
    return {**payload, "preemptible": False}


def _task_failed_v1(payload: dict[str, Any]) -> dict[str, Any]:
    """Before retries a failure was final, and every task had one attempt."""
    return {**payload, "attempt": 1, "retry_at": None}


def _task_cancelled_v1(payload: dict[str, Any]) -> dict[str, Any]:
    """Before cancellation of running tasks only a queued task could be cancelled."""
    return {**payload, "from_status": "queued", "pool_id": None}


def _pool_registered_v1(payload: dict[str, Any]) -> dict[str, Any]:
    """Before external workers every pool ran in the simulator."""
    return {**payload, "execution": "simulated"}


def _decision_v1(payload: dict[str, Any]) -> dict[str, Any]:
    """Before draining, no pool a decision saw was draining."""
    decision = payload["decision"]
    pools = [{**pool, "draining": False} for pool in decision["pools"]]
    return {**payload, "decision": {**decision, "pools": pools}}


def _whole_decision_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """Schema 3 also reads a whole Decision (it has no `seen`): nothing to change."""
    return payload


def _tenant_stage_v3(payload: dict[str, Any]) -> dict[str, Any]:
    """Before tenants no decision had a tenant stage (a whole Decision, from schemas 1 and
    2, is left as it is)."""
    decision = payload["decision"]
    if "seen" not in decision:
        return payload
    return {**payload, "decision": {**decision, "tenants": None}}


def _slot_claimed_v1(payload: dict[str, Any]) -> dict[str, Any]:
    """Before retries every claim was a task's first and only attempt."""
    return {**payload, "attempt": 1}


UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("PoolSlotClaimed", 1): _slot_claimed_v1,
    ("WorkerAssigned", 1): _decision_v1,
    ("TaskDeferred", 1): _decision_v1,
    ("WorkerAssigned", 2): _whole_decision_v2,
    ("TaskDeferred", 2): _whole_decision_v2,
    ("WorkerAssigned", 3): _tenant_stage_v3,
    ("TaskDeferred", 3): _tenant_stage_v3,
    ("TaskQueued", 1): _task_queued_v1,
    ("TaskQueued", 2): _task_queued_v2,
    ("TaskReady", 1): _task_ready_v1,
    ("TaskReady", 2): _task_ready_v2,
    ("TaskFailed", 1): _task_failed_v1,
    ("TaskCancelled", 1): _task_cancelled_v1,
    ("WorkerPoolRegistered", 1): _pool_registered_v1,
}
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
