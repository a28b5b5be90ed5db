import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from application import tenant_privacy, views
from application.audit import explain
from application.commands.finish_task import CompleteTask, FailTask
from application.commands.leases import Heartbeat, ReleaseTask
from application.commands.submit_task import SubmitTask
from application.commands.task_lifecycle import CancelTask, RetryTask
from application.errors import HistoryArchived
from application.idempotency import Response as IdempotentResponse
from application.idempotency import Sources
from application.messages import CommandResult, RecordedEvent
from application.ports import ReadModel
from domain.errors import Invalid, LeaseNotHeld, TaskNotFound
from domain.retry import RetryPolicy
from domain.task import task_stream
from domain.tenant import DEFAULT_TENANT
from domain.values import TaskStatus, TaskType
from interfaces.http.as_of import AsOf, position_of, utc
from interfaces.http.deps import (
    BoundTenant,
    Context,
    LeaseSeconds,
    Now,
    Reads,
    Sender,
    TimeTravelling,
    bound_tenant_of,
    send,
    service_of,
    tenant_seen,
)
from interfaces.http.idempotent import execute, json_body
from interfaces.http.middleware.auth import READ, WORK, WRITE, requires
from interfaces.http.parsing import body_schema, parse_body
from interfaces.http.schemas import (
    CompleteIn,
    FailIn,
    HeartbeatIn,
    HeartbeatOut,
    ReasonIn,
    Region,
    ReleaseIn,
    TaskCreate,
    TaskDecisions,
    TaskEvents,
    TaskOut,
    TaskPage,
    TaskTimeline,
    TenantName,
    one_of,
)

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])


def _tenant_of_submission(named: str | None, bound: str | None) -> str:
    """The tenant a submission is for: the one it names, else its key's, else `default`;
    a key bound to a tenant submits for no other."""
    if bound is not None and named not in (None, bound):
        raise OtherTenant(bound, named)
    return named or bound or DEFAULT_TENANT


class OtherTenant(Invalid):
    def __init__(self, bound: str, named: str | None) -> None:
        super().__init__(f"this API key submits for tenant {bound!r} only, not {named!r}")


async def _visible(task_id: uuid.UUID, request: Request) -> None:
    """With a key bound to a tenant, another tenant's task does not exist: 404, not 403,
    so its id does not leak. (One read more for such keys only.)"""
    bound = bound_tenant_of(request)
    if bound is None:
        return
    task = await run_in_threadpool(service_of(request).read_model.get_task, str(task_id))
    if task is None or task["tenant"] != bound:
        raise TaskNotFound(str(task_id))


VISIBLE = Depends(_visible)


@router.post(
    "",
    dependencies=[requires(WRITE)],
    status_code=201,
    response_model=TaskOut,
    openapi_extra=body_schema(TaskCreate),
    responses={422: {"description": "Invalid task (problem details)"}},
)
async def submit_task(request: Request) -> Response:
    """Submit a task. The body is parsed here rather than by a dependency: this is the
    busiest endpoint, and FastAPI's dependency solving would cost more than the write."""
    body = await parse_body(request, TaskCreate)
    tenant = _tenant_of_submission(body.tenant, bound_tenant_of(request))
    command = SubmitTask(
        body.type,
        body.priority,
        body.cost,
        body.region,
        body.resource_type,
        body.metadata,
        retry=RetryPolicy(body.max_attempts, body.retry_backoff_s, body.retry_backoff_max_s),
        timeout_s=body.timeout_s,
        not_before=None if body.not_before is None else utc(body.not_before, "not_before"),
        tenant=tenant,
        preemptible=body.preemptible,
    )
    return await execute(request, command, _submitted)


@router.get("", dependencies=[requires(READ)], response_model=TaskPage)
def list_tasks(
    reads: Reads,
    bound: BoundTenant,
    status: Annotated[TaskStatus | None, Query(description=f"one of {one_of(TaskStatus)}")] = None,
    type: Annotated[TaskType | None, Query(description=f"one of {one_of(TaskType)}")] = None,
    region: Region | None = None,
    tenant: TenantName | None = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """Newest first; with a key bound to a tenant, only that tenant's tasks."""
    seen = tenant_seen(bound, tenant)
    tasks, total = reads.list_tasks(status, type, region, page, page_size, seen)
    return {"tasks": tasks, "total": total, "page": page, "page_size": page_size}


@router.get("/{task_id}", dependencies=[requires(READ), VISIBLE], response_model=TaskOut)
def get_task(
    task_id: uuid.UUID, reads: Reads, history: TimeTravelling, as_of: AsOf = None
) -> dict[str, Any]:
    """The task now, or as it was at `as_of` (404 if it did not exist yet)."""
    if as_of is None:
        return _task(reads, task_id)
    task = history.task(str(task_id), position_of(history, as_of))
    if task is None:
        raise TaskNotFound(str(task_id))
    return task


@router.get("/{task_id}/events", dependencies=[requires(READ), VISIBLE], response_model=TaskEvents)
def task_events(task_id: uuid.UUID, reads: Reads, bound: BoundTenant) -> dict[str, Any]:
    events = reads.stream_events(task_stream(str(task_id)))
    if not events:
        raise TaskNotFound(str(task_id))
    if bound is not None:  # the other tenants a decision or a preemption names are not its
        events = [tenant_privacy.event_view_for(event, bound) for event in events]
    return {"task_id": str(task_id), "events": events}


@router.get(
    "/{task_id}/decisions", dependencies=[requires(READ), VISIBLE], response_model=TaskDecisions
)
def task_decisions(task_id: uuid.UUID, reads: Reads, bound: BoundTenant) -> Response:
    """Every scheduling decision for the task, deferrals included, as the scheduler saw it:
    each candidate pool, why it was filtered out or how it ranked, and the choice. A key
    bound to a tenant reads no other tenant's name or figures in a tenant stage."""
    history = _history(reads, task_id)
    decisions = explain.decisions_view(history, reads)
    if bound is not None:
        for decision in decisions:
            decision["tenant_stage"] = tenant_privacy.stage_view_for(
                decision.get("tenant_stage"), bound
            )
    body = {"task_id": str(task_id), "decisions": decisions}
    # encoded as built: validating 10,000 candidate rows again would double the answer's time
    return Response(orjson.dumps(body), media_type="application/json")


@router.get(
    "/{task_id}/timeline", dependencies=[requires(READ), VISIBLE], response_model=TaskTimeline
)
def task_timeline(task_id: uuid.UUID, reads: Reads, clock: Now) -> dict[str, Any]:
    """The task's events and the time it spent in each state."""
    timeline = explain.timeline_view(_history(reads, task_id), clock.now())
    if timeline is None:
        raise TaskNotFound(str(task_id))
    return timeline


@router.delete("/{task_id}", dependencies=[requires(WRITE), VISIBLE], status_code=204)
async def delete_task(task_id: uuid.UUID, sender: Sender, context: Context) -> Response:
    await send(sender, CancelTask(str(task_id)), context)
    return Response(status_code=204)


@router.post("/{task_id}/cancel", dependencies=[requires(WRITE), VISIBLE], response_model=TaskOut)
async def cancel_task(
    task_id: uuid.UUID, request: Request, body: ReasonIn | None = None
) -> Response:
    reason = body.reason if body and body.reason else "cancelled by request"
    return await execute(request, CancelTask(str(task_id), reason), _TaskAfter(str(task_id)))


@router.post("/{task_id}/complete", dependencies=[requires(WORK), VISIBLE], response_model=TaskOut)
async def complete_task(
    task_id: uuid.UUID, request: Request, body: CompleteIn | None = None
) -> Response:
    """Report an attempt done. A task in an external pool needs its lease token (a
    worker whose lease expired gets 409 and must drop the task)."""
    command = CompleteTask(str(task_id), body.lease if body else None)
    return await execute(request, command, _TaskAfter(str(task_id)))


@router.post("/{task_id}/fail", dependencies=[requires(WORK), VISIBLE], response_model=TaskOut)
async def fail_task(task_id: uuid.UUID, request: Request, body: FailIn | None = None) -> Response:
    """Report an attempt failed: the task is retried after its backoff while it has
    attempts left, and goes to the dead letters when it has none."""
    reason = body.reason if body and body.reason else "failed by request"
    command = FailTask(str(task_id), reason, body.lease if body else None)
    return await execute(request, command, _TaskAfter(str(task_id)))


@router.post(
    "/{task_id}/heartbeat", dependencies=[requires(WORK), VISIBLE], response_model=HeartbeatOut
)
async def heartbeat(
    task_id: uuid.UUID,
    body: HeartbeatIn,
    sender: Sender,
    reads: Reads,
    lease_s: LeaseSeconds,
    context: Context,
) -> dict[str, Any]:
    """Keep a lease: it is extended to the pool's lease length from now. The answer says
    whether the task was cancelled meanwhile (then stop it and release it)."""
    await send(sender, Heartbeat(str(task_id), body.lease, lease_s), context)
    task = await run_in_threadpool(_task, reads, task_id)
    lease = task["lease"]
    if lease is None:  # the lease ended between the heartbeat and this read
        raise LeaseNotHeld(str(task_id), f"the task is {task['status']}")
    return {
        "task_id": str(task_id),
        "lease_expires_at": lease["expires_at"],
        "cancel_requested": task["cancel_requested"],
    }


@router.post("/{task_id}/release", dependencies=[requires(WORK), VISIBLE], response_model=TaskOut)
async def release_task(task_id: uuid.UUID, request: Request, body: ReleaseIn) -> Response:
    """Give a leased task back unfinished (a worker shutting down): it is not counted as a
    failed attempt. A task whose cancellation was requested is cancelled instead."""
    reason = body.reason or "released by its worker"
    return await execute(
        request, ReleaseTask(str(task_id), body.lease, reason), _TaskAfter(str(task_id))
    )


@router.post("/{task_id}/retry", dependencies=[requires(WRITE), VISIBLE], response_model=TaskOut)
async def retry_task(task_id: uuid.UUID, request: Request) -> Response:
    """Send a failed task (a dead letter) back for a fresh round of attempts; the log
    records who did it."""
    return await execute(request, RetryTask(str(task_id)), _TaskAfter(str(task_id)))


def _submitted(result: CommandResult, sources: Sources) -> IdempotentResponse:
    return json_body(201, views.task_view(result.recorded))


@dataclass(frozen=True)
class _TaskAfter:
    """Renders the task as the command left it, folded from its stream (on from its row in
    the tasks projection when the stream's first events were archived)."""

    task_id: str

    def __call__(self, result: CommandResult, sources: Sources) -> IdempotentResponse:
        try:
            events = _as_left(result, sources, self.task_id)
        except HistoryArchived:
            events = []
        if events and events[0].version == 1:
            return json_body(200, views.task_view(events))
        row = sources.task_row(self.task_id)
        if row is None:
            raise TaskNotFound(self.task_id)
        return json_body(200, views.task_view_from(row, events))


def _as_left(result: CommandResult, sources: Sources, task_id: str) -> list[RecordedEvent]:
    """The task's stream up to the command's last event: what happened after it (the
    timekeeper requeueing a released task, say) is not this command's outcome."""
    events = sources.history(task_stream(task_id))
    last = result.position
    return events if last is None else [e for e in events if e.position <= last]


def _history(reads: ReadModel, task_id: uuid.UUID) -> list[RecordedEvent]:
    history = reads.history(task_stream(str(task_id)))
    if not history:
        raise TaskNotFound(str(task_id))
    return history


def _task(reads: ReadModel, task_id: uuid.UUID) -> dict[str, Any]:
    task = reads.get_task(str(task_id))
    if task is None:
        raise TaskNotFound(str(task_id))
    return task
