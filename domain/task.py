"""The Task aggregate and its lifecycle.

    (delayed ->) queued -> processing -> completed
                              |-> failed attempt -> delayed (backoff) -> queued -> ...
                              |-> failed for good (a dead letter; an operator may retry it)
    queued | delayed | processing -> cancelled

Command methods check an invariant and return the events; `when` folds an event into a new
state without checking anything, so history always replays. Every status change an event
makes is stated once, in `status_move`, which the fold, the audit and the read models share.
"""

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from domain.errors import (
    AttemptOver,
    CancelRequested,
    DecisionMismatch,
    EarlierAssignmentMissing,
    InvalidValue,
    LeaseNotHeld,
    LeaseRequired,
    NotDueYet,
    PreemptionRefused,
    ResourceMismatch,
    TaskAlreadyDeferred,
    TaskAlreadyLeased,
    TaskFinished,
    TaskNotDelayed,
    TaskNotFailed,
    TaskNotProcessing,
    TaskNotQueued,
    WrongPool,
)
from domain.events import (
    DomainEvent,
    TaskCancelled,
    TaskCancelRequested,
    TaskCompleted,
    TaskDeadLettered,
    TaskDeferred,
    TaskFailed,
    TaskLeased,
    TaskLeaseExpired,
    TaskLeaseExtended,
    TaskPreempted,
    TaskQueued,
    TaskReady,
    TaskReleased,
    TaskRetried,
    WorkerAssigned,
)
from domain.retry import RetryPolicy, check_timeout
from domain.scheduling.decision import Decision, TaskSnapshot
from domain.scheduling.record import DecisionRecord
from domain.values import MAX_PRIORITY, MIN_PRIORITY, ResourceType, TaskStatus, TaskType
from domain.worker_pool import WorkerPool

DELAYED, QUEUED, PROCESSING = TaskStatus.DELAYED, TaskStatus.QUEUED, TaskStatus.PROCESSING
COMPLETED, FAILED, CANCELLED = TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED


MAX_DELAY = timedelta(days=366)


def task_stream(task_id: str) -> str:
    return f"task-{task_id}"


@dataclass(frozen=True)
class Lease:
    worker_id: str
    token: str
    expires_at: datetime


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
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout_s: float | None = None
    status: TaskStatus = QUEUED
    pool_id: str | None = None
    deferred: bool = False
    attempt: int = 0
    """Attempts started (assignments) so far."""
    failures: int = 0
    """Failed attempts since submission or the last retry by an operator."""
    started_at: datetime | None = None
    ready_at: datetime | None = None
    lease: Lease | None = None
    cancel_requested: bool = False
    assigned_in: tuple[str, int] | None = None
    """(scheduler run, position seen) of the decision behind the latest assignment, when it
    was recorded as a DecisionRecord."""
    tenant: str = "default"
    preemptible: bool = False
    preempted: int = 0
    """The last attempt that was preempted (0: none), for its worker's next report."""

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
        retry: RetryPolicy = RetryPolicy(),
        timeout_s: float | None = None,
        not_before: datetime | None = None,
        tenant: str = "default",
        preemptible: bool = False,
    ) -> TaskQueued:
        check_priority(priority)
        check_cost(cost)
        check_region(region)
        retry.check()
        check_timeout(timeout_s)
        if not_before is not None and not_before.tzinfo is None:
            raise InvalidValue("not_before needs a time zone")
        if not_before is not None and not_before - now > MAX_DELAY:
            raise InvalidValue(f"not_before must be at most {MAX_DELAY.days} days ahead")
        return TaskQueued(
            task_id, type, priority, cost, region, resource_type, dict(metadata), now,
            retry.max_attempts, retry.backoff_s, retry.backoff_max_s, timeout_s, not_before,
            tenant, preemptible,
        )  # fmt: skip

    @property
    def snapshot(self) -> TaskSnapshot:
        return TaskSnapshot(self.id, self.priority, self.region, self.resource_type)

    @property
    def timeout_at(self) -> datetime | None:
        if self.timeout_s is None or self.started_at is None:
            return None
        return self.started_at + timedelta(seconds=self.timeout_s)

    # -- waiting -------------------------------------------------------------------------

    def ready(self, now: datetime) -> TaskReady:
        if self.status is not DELAYED:
            raise TaskNotDelayed(self.id, self.status, "made ready")
        if self.ready_at is not None and now < self.ready_at:
            raise NotDueYet(self.id, "the next attempt", self.ready_at.isoformat())
        return TaskReady(
            self.id, self.priority, self.region, self.resource_type, now, self.tenant,
            self.preemptible,
        )  # fmt: skip

    def assign(
        self, pool: WorkerPool, decision: DecisionRecord | Decision, now: datetime
    ) -> WorkerAssigned:
        self._check_queued("assigned")
        if self.resource_type is not None and pool.resource_type != self.resource_type:
            raise ResourceMismatch(self.id, self.resource_type, pool.resource_type)
        self._check_decision(decision, chosen=pool.id)
        return WorkerAssigned(self.id, pool.id, pool.name, decision, now)

    def defer(self, decision: DecisionRecord | Decision, now: datetime) -> TaskDeferred:
        self._check_queued("deferred")
        if self.deferred:
            raise TaskAlreadyDeferred(self.id)
        self._check_decision(decision, chosen=None)
        return TaskDeferred(self.id, decision, now)

    def check_assigned_in(self, run: str, seen: int, next_task: str) -> None:
        """The assignment `next_task`'s decision counted on (this task's, in the same
        scheduling round) is recorded: else EarlierAssignmentMissing."""
        if self.assigned_in != (run, seen):
            raise EarlierAssignmentMissing(next_task, self.id)

    def _check_decision(self, decision: DecisionRecord | Decision, chosen: str | None) -> None:
        if isinstance(decision, DecisionRecord):
            about, chose = decision.about(self.snapshot), decision.chose == (chosen is not None)
            picked = "a pool" if decision.chose else None
            stage = decision.tenants
            if stage is not None and stage.chosen != self.tenant:
                raise DecisionMismatch(
                    f"the decision's tenant stage chose {stage.chosen}, task {self.id} is "
                    f"{self.tenant}'s"
                )
        else:
            about, chose = decision.task == self.snapshot, decision.chosen_pool_id == chosen
            picked = decision.chosen_pool_id
        if not about:
            raise DecisionMismatch(f"the decision is about another task than {self.id}")
        if not chose:
            raise DecisionMismatch(
                f"the decision chose {picked or 'no pool'}, "
                f"not {chosen or 'no pool'}, for task {self.id}"
            )

    # -- leases ----------------------------------------------------------------------------

    def take_lease(
        self, pool_id: str, worker_id: str, token: str, lease_s: float, now: datetime
    ) -> TaskLeased:
        pool = self._check_processing("leased")
        if pool != pool_id:
            raise WrongPool(self.id, pool, pool_id)
        if self.cancel_requested:
            raise CancelRequested(self.id)
        if self.lease is not None:
            raise TaskAlreadyLeased(self.id, self.lease.worker_id)
        expires = now + timedelta(seconds=lease_s)
        return TaskLeased(self.id, pool, self.attempt, worker_id, token, now, expires)

    def heartbeat(self, token: str, lease_s: float, now: datetime) -> TaskLeaseExtended | None:
        """Extend the lease to `lease_s` from now, recording it only once less than two
        thirds of that is left: a worker beating every quarter of the lease fills the log
        with one extension per half lease, and still has a quarter of it in hand when a
        beat is lost."""
        lease = self._check_lease(token, now)
        if lease.expires_at - now >= timedelta(seconds=lease_s * 2 / 3):
            return None
        return TaskLeaseExtended(self.id, token, now + timedelta(seconds=lease_s))

    def expire_lease(self, now: datetime, jitter: float) -> list[DomainEvent]:
        lease = self.lease
        if self.status is not PROCESSING or lease is None:
            raise LeaseNotHeld(self.id, "the task holds no lease")
        if now < lease.expires_at:
            raise NotDueYet(self.id, "the lease", lease.expires_at.isoformat())
        if self.cancel_requested:
            return [self._cancelled("cancel requested; the lease expired unacknowledged", now)]
        retry_at = self._retry_at(now, jitter)
        expired = TaskLeaseExpired(
            self.id, self.pool_id or "", self.attempt, lease.worker_id, now, retry_at
        )
        return [expired, *self._dead_letter(retry_at, "lease expired", now)]

    def _check_lease(self, token: str, now: datetime) -> Lease:
        if self.preempted and self.preempted == self.attempt and self.lease is None:
            raise LeaseNotHeld(self.id, f"attempt {self.attempt} was preempted")
        if self.status is not PROCESSING:
            raise LeaseNotHeld(self.id, f"the task is {self.status}")
        lease = self.lease
        if lease is None or lease.token != token:
            raise LeaseNotHeld(self.id, "it is not the task's current lease")
        if now >= lease.expires_at:
            raise LeaseNotHeld(self.id, f"it expired at {lease.expires_at.isoformat()}")
        return lease

    def _check_attempt(self, attempt: int | None) -> None:
        """A report naming its attempt (the simulator's) is about that attempt only."""
        if attempt is not None and attempt != self.attempt:
            raise AttemptOver(self.id, attempt, self.attempt)

    def _check_reporter(self, token: str | None, now: datetime) -> None:
        """A leased task hears only from its lease holder; an unleased one from anyone.
        A worker presenting a lease hears first whether it still holds the task."""
        if token is None and self.lease is not None and self.status is PROCESSING:
            raise LeaseRequired(self.id, self.pool_id or "")
        if token is not None:
            self._check_lease(token, now)

    # -- ending an attempt -----------------------------------------------------------------

    def complete(
        self, now: datetime, lease_token: str | None = None, attempt: int | None = None
    ) -> TaskCompleted:
        self._check_reporter(lease_token, now)
        pool_id = self._check_processing("completed")
        self._check_attempt(attempt)
        return TaskCompleted(self.id, pool_id, self.enqueued_at, now)

    def fail(
        self,
        reason: str,
        now: datetime,
        jitter: float,
        lease_token: str | None = None,
        attempt: int | None = None,
    ) -> list[DomainEvent]:
        self._check_reporter(lease_token, now)
        self._check_processing("failed")
        self._check_attempt(attempt)
        if self.cancel_requested:
            return [self._cancelled(f"cancelled by request; the worker stopped: {reason}", now)]
        return self._failed(reason, now, jitter)

    def release(self, lease_token: str, reason: str, now: datetime) -> list[DomainEvent]:
        """The worker hands the task back unfinished: not a failure, a new attempt."""
        lease = self._check_lease(lease_token, now)
        pool_id = self._check_processing("released")
        if self.cancel_requested:
            return [self._cancelled(f"cancelled by request; the worker stopped: {reason}", now)]
        return [TaskReleased(self.id, pool_id, self.attempt, lease.worker_id, reason, now)]

    def preempt(
        self, beneficiary: "Task", pool: WorkerPool, preemption: "PreemptionFacts", now: datetime
    ) -> list[DomainEvent]:
        """Stop this preemptible task's attempt for `beneficiary`, a waiting task that can
        run in this task's pool: never for a task of the same tenant unless this one's
        priority is lower. A task being cancelled is cancelled as well (its slot is what
        the beneficiary needs; its worker learns both on its next report)."""
        pool_id = self._check_processing("preempted")
        why = _refusal(self, beneficiary, pool)
        if why is not None:
            raise PreemptionRefused(self.id, why)
        preempted = TaskPreempted(
            self.id, pool_id, self.attempt, self.tenant, beneficiary.id, beneficiary.tenant,
            preemption.rule, preemption.victim_share, preemption.beneficiary_share,
            preemption.seen, preemption.run, now,
        )  # fmt: skip
        if self.cancel_requested:
            reason = "cancel requested; the attempt was preempted"
            return [preempted, TaskCancelled(self.id, reason, now, DELAYED, None)]
        return [preempted]

    def time_out(self, attempt: int, now: datetime, jitter: float) -> list[DomainEvent]:
        self._check_processing("timed out")
        due = self.timeout_at
        if due is None or attempt != self.attempt:
            raise NotDueYet(self.id, f"a timeout of attempt {attempt}", "never")
        if now < due:
            raise NotDueYet(self.id, "the timeout", due.isoformat())
        if self.cancel_requested:
            return [self._cancelled("cancel requested; the attempt timed out", now)]
        return self._failed(f"timeout: still running after {self.timeout_s:g} s", now, jitter)

    def _failed(self, reason: str, now: datetime, jitter: float) -> list[DomainEvent]:
        retry_at = self._retry_at(now, jitter)
        failed = TaskFailed(
            self.id, self.pool_id or "", reason, self.enqueued_at, now, self.attempt, retry_at
        )
        return [failed, *self._dead_letter(retry_at, reason, now)]

    def _retry_at(self, now: datetime, jitter: float) -> datetime | None:
        failures = self.failures + 1
        if self.retry.gives_up_after(failures):
            return None
        return now + timedelta(seconds=self.retry.backoff(failures, jitter))

    def _dead_letter(
        self, retry_at: datetime | None, reason: str, now: datetime
    ) -> list[DomainEvent]:
        """A task that had retries and used them all goes to the dead letters."""
        if retry_at is not None or self.retry.max_attempts == 1:
            return []
        return [TaskDeadLettered(self.id, self.failures + 1, reason, now)]

    # -- cancelling and retrying -------------------------------------------------------------

    def cancel(self, reason: str, now: datetime) -> list[DomainEvent]:
        """A waiting task, or one no worker holds yet, is cancelled at once; a held one is
        asked to stop (its worker learns it on its next heartbeat). Asking twice records
        nothing more."""
        if self.status.terminal:
            raise TaskFinished(self.id, self.status, "cancelled")
        if self.status is PROCESSING and self.lease is not None:
            return [] if self.cancel_requested else [TaskCancelRequested(self.id, reason, now)]
        return [self._cancelled(reason, now)]

    def _cancelled(self, reason: str, now: datetime) -> TaskCancelled:
        pool_id = self.pool_id if self.status is PROCESSING else None
        return TaskCancelled(self.id, reason, now, self.status, pool_id)

    def retry_now(self, now: datetime) -> TaskRetried:
        """An operator's retry of a failed task: a fresh round of attempts."""
        if self.status is not FAILED:
            raise TaskNotFailed(self.id, self.status, "retried")
        return TaskRetried(self.id, now)

    def _check_queued(self, action: str) -> None:
        if self.status is not QUEUED:
            raise TaskNotQueued(self.id, self.status, action)

    def _check_processing(self, action: str) -> str:
        if self.status is not PROCESSING or self.pool_id is None:
            raise TaskNotProcessing(self.id, self.status, action)
        return self.pool_id

    # -- folding -------------------------------------------------------------------------------

    @staticmethod
    def start(event: DomainEvent) -> "Task":
        if not isinstance(event, TaskQueued):
            raise TypeError(f"a task stream cannot begin with {event.type_name()}")
        delayed = _later(event.not_before, event.enqueued_at)
        return Task(
            id=event.task_id,
            type=event.type,
            priority=event.priority,
            cost=event.cost,
            region=event.region,
            resource_type=event.resource_type,
            metadata=event.metadata,
            enqueued_at=event.enqueued_at,
            retry=RetryPolicy(event.max_attempts, event.retry_backoff_s, event.retry_backoff_max_s),
            timeout_s=event.timeout_s,
            status=DELAYED if delayed else QUEUED,
            ready_at=event.not_before if delayed else None,
            tenant=event.tenant,
            preemptible=event.preemptible,
        )

    def when(self, event: DomainEvent) -> "Task":
        changes = self._changes(event)
        moved = status_move(event.type_name(), vars(event))
        if moved is not None and moved[1] is not self.status:
            changes["status"] = moved[1]
        return replace(self, **changes) if changes else self

    def _changes(self, event: DomainEvent) -> dict[str, Any]:
        """The fields an event sets besides the status (one `replace` per event: folding
        is on every command's path)."""
        match event:
            case TaskReady(preemptible=preemptible):
                # the scheduler takes it from here (False from an event recorded before
                # preemption existed): the aggregate agrees with it
                return {"ready_at": None, "deferred": False, "preemptible": preemptible}
            case WorkerAssigned(pool_id=pool_id, assigned_at=at, decision=decision):
                assigned_in = (
                    (decision.run, decision.seen) if isinstance(decision, DecisionRecord) else None
                )
                return {"pool_id": pool_id, "attempt": self.attempt + 1, "started_at": at,
                        "lease": None, "assigned_in": assigned_in}  # fmt: skip
            case TaskDeferred():
                return {"deferred": True}
            case TaskLeased(worker_id=worker, lease_token=token, expires_at=expires):
                return {"lease": Lease(worker, token, expires)}
            case TaskLeaseExtended(expires_at=expires) if self.lease is not None:
                return {"lease": replace(self.lease, expires_at=expires)}
            case TaskFailed(retry_at=retry_at) | TaskLeaseExpired(retry_at=retry_at):
                return {"failures": self.failures + 1, "ready_at": retry_at, **_ENDED}
            case TaskReleased(released_at=at):
                return {"ready_at": at, **_ENDED}
            case TaskPreempted(preempted_at=at, attempt=attempt):
                return {"ready_at": at, "preempted": attempt, **_ENDED}
            case TaskRetried(retried_at=at):
                return {"ready_at": at, "failures": 0}
            case TaskCancelRequested():
                return {"cancel_requested": True}
            case TaskCompleted() | TaskCancelled():
                return dict(_ENDED)
        return {}


_ENDED: dict[str, Any] = {"lease": None, "cancel_requested": False}
"""What an attempt's end clears."""

Move = tuple[frozenset[TaskStatus | None], TaskStatus]
_NEW: frozenset[TaskStatus | None] = frozenset({None})


def _from(*statuses: TaskStatus) -> frozenset[TaskStatus | None]:
    return frozenset(statuses)


def status_move(kind: str, fields: Mapping[str, Any]) -> Move | None:
    """The statuses a task may be in for an event of type `kind` to happen, and the status
    it leaves the task in; None for events of other aggregates.

    `fields` are the event's fields, as an event object's (`vars(event)`) or as stored
    (its payload: times as fixed-width ISO text, which orders as the times do), so the
    aggregate, the read models and the audit all move a task by this one rule."""
    rule = MOVES.get(kind)
    return None if rule is None else rule(fields)


MOVES: dict[str, Callable[[Mapping[str, Any]], Move]] = {
    TaskQueued.type_name(): lambda f: (
        _NEW, DELAYED if _later(f["not_before"], f["enqueued_at"]) else QUEUED
    ),
    TaskReady.type_name(): lambda f: (_from(DELAYED), QUEUED),
    TaskDeferred.type_name(): lambda f: (_from(QUEUED), QUEUED),
    WorkerAssigned.type_name(): lambda f: (_from(QUEUED), PROCESSING),
    TaskLeased.type_name(): lambda f: (_from(PROCESSING), PROCESSING),
    TaskLeaseExtended.type_name(): lambda f: (_from(PROCESSING), PROCESSING),
    TaskCancelRequested.type_name(): lambda f: (_from(PROCESSING), PROCESSING),
    TaskCompleted.type_name(): lambda f: (_from(PROCESSING), COMPLETED),
    TaskFailed.type_name(): lambda f: (_from(PROCESSING), _after_attempt(f)),
    TaskLeaseExpired.type_name(): lambda f: (_from(PROCESSING), _after_attempt(f)),
    TaskReleased.type_name(): lambda f: (_from(PROCESSING), DELAYED),
    TaskPreempted.type_name(): lambda f: (_from(PROCESSING), DELAYED),
    TaskDeadLettered.type_name(): lambda f: (_from(FAILED), FAILED),
    TaskRetried.type_name(): lambda f: (_from(FAILED), DELAYED),
    TaskCancelled.type_name(): lambda f: (_from(TaskStatus(f["from_status"])), CANCELLED),
}  # fmt: skip


@dataclass(frozen=True)
class PreemptionFacts:
    """What the scheduler's choice of a victim says (see TaskPreempted)."""

    rule: str
    victim_share: float
    beneficiary_share: float
    seen: int
    run: str


def _refusal(victim: Task, beneficiary: Task, pool: WorkerPool) -> str | None:
    """Why `victim` may not be preempted for `beneficiary` in `pool` (None: it may)."""
    if not victim.preemptible:
        return "it is not preemptible"
    if beneficiary.id == victim.id:
        return "a task cannot be preempted for itself"
    if beneficiary.status is not QUEUED:
        return f"the task it would make room for, {beneficiary.id}, is {beneficiary.status}"
    if beneficiary.resource_type not in (None, pool.resource_type):
        return (
            f"{beneficiary.id} needs {beneficiary.resource_type}, the slot is {pool.resource_type}"
        )
    if beneficiary.tenant == victim.tenant and victim.priority >= beneficiary.priority:
        return (
            f"{beneficiary.id} is of the same tenant ({victim.tenant}) with priority "
            f"{beneficiary.priority}, not above {victim.priority}"
        )
    return None


def _after_attempt(fields: Mapping[str, Any]) -> TaskStatus:
    """A failed attempt waits for the next (delayed) or, with none left, has failed."""
    return FAILED if fields["retry_at"] is None else DELAYED


def _later(moment: Any, than: Any) -> bool:
    """`moment` (a time, or stored ISO text) is set and after `than` (of the same kind)."""
    return moment is not None and moment > than


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
