"""Why a task went where it went, read from its stream: every scheduling decision as the
scheduler made it (a DecisionRecord's pools rebuilt from the log and checked against its
digest), and the time the task spent in each state."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from application.errors import DecisionNotRebuilt
from application.messages import RecordedEvent
from application.views import iso_timestamp
from domain.errors import UnknownAlgorithmVersion
from domain.events import DomainEvent, TaskDeferred, TaskQueued, WorkerAssigned
from domain.scheduling import Decision, DecisionRecord, PoolSnapshot, rank_key_names
from domain.scheduling.fair_share import SHARE_DIGITS, choose
from domain.scheduling.record import decide_again
from domain.scheduling.tenant_stage import TenantStage
from domain.task import status_move
from domain.values import ResourceType, TaskStatus

DECISION_TYPES = (WorkerAssigned.type_name(), TaskDeferred.type_name())


class Boards(Protocol):
    def decision_inputs(self, seen: int, before: int, run: str) -> list[tuple[PoolSnapshot, bytes]]:
        """The pools a scheduler run decided on (see DecisionRecord): as the log stood at
        `seen`, with a slot for each of the run's assignments in (seen, before); each with
        its hash, in registration order."""
        ...


def decisions_view(
    history: Sequence[RecordedEvent], boards: Boards | None = None
) -> list[dict[str, Any]]:
    """Every decision in the stream, in order: assignments and deferrals alike. Records
    (schema 3) need `boards`; DecisionNotRebuilt if one's inputs do not hash to its digest."""
    views = []
    for recorded in history:
        if recorded.type not in DECISION_TYPES:
            continue
        event = recorded.event
        assert isinstance(event, WorkerAssigned | TaskDeferred)
        outcome = "assigned" if isinstance(event, WorkerAssigned) else "deferred"
        record = event.decision
        if isinstance(record, Decision):
            view = decision_view(record)
        elif boards is None:
            raise DecisionNotRebuilt(recorded.position, "no source of pool states given")
        else:
            view = decision_view(rebuilt(event, record, recorded.position, boards))
            view["rebuilt_from"] = {
                "seen_position": record.seen,
                "scheduler_run": record.run,
                "digest": record.digest,
            }
            view["tenant_stage"] = tenant_stage_view(record.tenants)
        views.append({**_envelope(recorded), "outcome": outcome, **view})
    return views


def tenant_stage_view(stage: TenantStage | None) -> dict[str, Any] | None:
    """The fair-share stage that chose the task's tenant: each competing tenant's figures
    (shares as the stage computed them) and the summary; None when it had no choice."""
    if stage is None:
        return None
    capacity = {ResourceType.CPU: stage.capacity_cpu, ResourceType.GPU: stage.capacity_gpu}
    made = choose(
        [tenant.state() for tenant in stage.tenants],
        {tenant.name: frozenset(tenant.wanting) for tenant in stage.tenants},
        capacity,
        {tenant.name: tenant.order for tenant in stage.tenants},
    )
    verdicts = {figure.name: str(figure.verdict) for figure in made.figures}
    return {
        "chosen": stage.chosen,
        "summary": stage.summary,
        "capacity": {"cpu": stage.capacity_cpu, "gpu": stage.capacity_gpu},
        "tenants": [
            {
                "name": tenant.name,
                "weight": tenant.weight,
                "quota": {"cpu": tenant.quota_cpu, "gpu": tenant.quota_gpu},
                "borrowing": {"cpu": tenant.borrowing_cpu, "gpu": tenant.borrowing_gpu},
                "running": {"cpu": tenant.running_cpu, "gpu": tenant.running_gpu},
                "share": round(tenant.state().share(capacity), SHARE_DIGITS),
                "wanting": [str(resource) for resource in tenant.wanting],
                "verdict": verdicts.get(tenant.name),
                "why": made.reasons.get(tenant.name),
            }
            for tenant in stage.tenants
        ],
    }


def rebuilt(
    event: WorkerAssigned | TaskDeferred, record: DecisionRecord, position: int, boards: Boards
) -> Decision:
    """The whole decision a record stands for: its algorithm version run again on the pools
    rebuilt from the log, which must hash to the recorded digest."""
    inputs = boards.decision_inputs(record.seen, position, record.run)
    again, problem = decide_again(record, event.task_id, inputs)
    if problem is not None:
        raise DecisionNotRebuilt(position, problem)
    return again


def decision_view(decision: Decision) -> dict[str, Any]:
    """The decision with every pool's fate, built column-wise from the decision (a view of
    10,000 pools is 10,000 rows: no object per pool on the way)."""
    chosen = decision.chosen
    chosen_id = decision.chosen_pool_id
    ranks = decision.ranks
    return {
        "algorithm": str(decision.algorithm),
        "algorithm_version": decision.algorithm_version,
        "summary": decision.summary,
        "task": {
            "priority": decision.task.priority,
            "region": decision.task.region,
            "resource_type": _text(decision.task.resource_type),
        },
        "chosen_pool_id": chosen_id,
        "chosen_pool_name": None if chosen is None else chosen.name,
        "ranked_by": _ranked_by(decision),
        "pools_seen": len(decision.pools),
        "pools_ranked": len(ranks) - ranks.count(None),
        "candidates": [
            {
                "pool_id": pool.pool_id,
                "name": pool.name,
                "region": pool.region,
                "resource_type": pool.resource_type,  # a StrEnum: JSON writes its text
                "cost_per_unit": pool.cost_per_unit,
                "capacity": pool.capacity,
                "load": pool.load,
                "registration": pool.registration,
                "filtered_out": verdict,
                "rank": rank,
                "rank_key": None if key is None else list(key),
                "chosen": pool.pool_id == chosen_id,
            }
            for pool, verdict, rank, key in zip(
                decision.pools, decision.verdicts, ranks, decision.rank_keys, strict=True
            )
        ],
    }


def timeline_view(history: Sequence[RecordedEvent], now: datetime) -> dict[str, Any] | None:
    """The task's events, the states they moved it through with the time spent in each
    (a retry's backoff shows as a `delayed` state between attempts), and the totals; a
    state not yet left is measured up to `now`."""
    if not history or history[0].type != TaskQueued.type_name():
        return None
    entries: list[dict[str, Any]] = []
    states: list[dict[str, Any]] = []
    attempt = 0
    for recorded in history:
        event = recorded.event
        moment = _moment(event) or recorded.metadata.recorded_at
        entries.append({**_envelope(recorded), "type": recorded.type, "at": iso_timestamp(moment)})
        attempt += isinstance(event, WorkerAssigned)
        moved = status_move(recorded.type, recorded.data)
        if moved is None or (states and states[-1]["state"] == str(moved[1])):
            continue
        if states:
            _leave(states[-1], moment)
        states.append(
            {"state": str(moved[1]), "entered_at": moment, "left_at": None, "attempt": attempt}
        )
    last = states[-1]
    if TaskStatus(last["state"]).terminal:
        last["seconds"] = None
    else:
        _leave(last, now, still_in=True)
    return {
        "task_id": history[0].stream_id.split("-", 1)[1],
        "status": last["state"],
        "attempts": attempt,
        "events": entries,
        "states": [
            {
                **state,
                "entered_at": iso_timestamp(state["entered_at"]),
                "left_at": None if state["left_at"] is None else iso_timestamp(state["left_at"]),
            }
            for state in states
        ],
        "delayed_seconds": _total(states, TaskStatus.DELAYED),
        "queued_seconds": _total(states, TaskStatus.QUEUED),
        "processing_seconds": _total(states, TaskStatus.PROCESSING),
        "total_seconds": sum(state["seconds"] or 0.0 for state in states),
    }


def _moment(event: DomainEvent) -> datetime | None:
    """When the event happened by its own clock (None: only its recording time is known)."""
    name = MOMENTS.get(event.type_name())
    return None if name is None else getattr(event, name)


MOMENTS = {
    "TaskQueued": "enqueued_at", "TaskDeferred": "deferred_at", "WorkerAssigned": "assigned_at",
    "TaskReady": "ready_at", "TaskLeased": "leased_at", "TaskCompleted": "completed_at",
    "TaskFailed": "failed_at", "TaskLeaseExpired": "expired_at", "TaskReleased": "released_at",
    "TaskPreempted": "preempted_at",
    "TaskCancelRequested": "requested_at", "TaskDeadLettered": "dead_lettered_at",
    "TaskRetried": "retried_at", "TaskCancelled": "cancelled_at",
}  # fmt: skip


def _leave(state: dict[str, Any], moment: datetime, still_in: bool = False) -> None:
    if not still_in:
        state["left_at"] = moment
    state["seconds"] = max((moment - state["entered_at"]).total_seconds(), 0.0)


def _total(states: Sequence[dict[str, Any]], status: TaskStatus) -> float:
    return sum(state["seconds"] or 0.0 for state in states if state["state"] == str(status))


def _envelope(recorded: RecordedEvent) -> dict[str, Any]:
    metadata = recorded.metadata
    return {
        "position": recorded.position,
        "event_id": metadata.event_id,
        "recorded_at": iso_timestamp(metadata.recorded_at),
        "correlation_id": metadata.correlation_id,
        "causation_id": metadata.causation_id,
        "actor": metadata.actor,
    }


def _ranked_by(decision: Decision) -> list[str] | None:
    try:
        names = rank_key_names(decision.algorithm, decision.algorithm_version, decision.task)
    except UnknownAlgorithmVersion:
        return None
    return list(names)


def _text(value: object | None) -> str | None:
    return None if value is None else str(value)
