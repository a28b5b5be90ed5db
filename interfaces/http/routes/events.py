import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from application import tenant_privacy
from domain.errors import InvalidValue
from interfaces.http.deps import EVERY_TENANT, BoundTenant, Reads, ServerClosing, tenant_seen
from interfaces.http.event_stream import StreamAsk, StreamSlots, TooManyStreams, events_after
from interfaces.http.log_fanout import LogFanout
from interfaces.http.middleware.auth import READ, requires
from interfaces.http.problems import problem
from interfaces.http.schemas import EventPage, LogPage, TenantName

router = APIRouter(prefix="/api/v1", tags=["events"])

Name = Annotated[str, Query(min_length=1, max_length=200)]
TraceId = Annotated[str, Query(pattern="^[0-9a-fA-F]{32}$", description="a W3C trace id")]
MAX_POSITION = 2**62


@router.get("/events", dependencies=[requires(READ)], response_model=EventPage)
def events(
    reads: Reads,
    bound: BoundTenant,
    after: Annotated[int, Query(ge=0, le=MAX_POSITION)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    stream: Name | None = None,
    type: Name | None = None,
    correlation_id: Name | None = None,
    tenant: TenantName | None = None,
    trace_id: TraceId | None = None,
) -> dict[str, Any]:
    """The log in position order; `correlation_id` finds everything one request caused;
    `trace_id` (32 hex digits; tracing on) every event recorded under that trace: its
    submission, decisions, lease and completion (from the hot log).
    `tenant`: that tenant's events only (its tasks' and its own), from the hot log, each
    page looking through at most 10,000 positions (a short page's `next_after` says where
    it stopped: go on from there until it reaches `head`). A key bound to a tenant reads
    only that tenant's events."""
    tenant = tenant_seen(bound, tenant)
    if tenant is not None and trace_id is None:
        page, reached, head = reads.tenant_events_page(
            tenant, after, limit, stream, type, correlation_id
        )
        next_after = max(after, reached)
    else:
        if trace_id is not None:
            page, head = reads.trace_events_page(
                trace_id.lower(), after, limit, stream, type, correlation_id, tenant
            )
        else:
            page, head = reads.events_page(after, limit, stream, type, correlation_id)
        next_after = page[-1]["position"] if len(page) == limit else max(after, head)
    if bound is not None:  # the other tenants a decision or a preemption names
        page = [tenant_privacy.event_view_for(event, bound) for event in page]
    return {"events": page, "next_after": next_after, "head": head}


@router.get(
    "/events/stream",
    dependencies=[requires(READ)],
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"},
        429: {"description": "this API key holds its limit of open streams"},
        503: {"description": "the server holds its limit of open streams"},
    },
)
async def event_stream(
    request: Request,
    reads: Reads,
    closing: ServerClosing,
    bound: BoundTenant,
    after: Annotated[int, Query(ge=0, le=MAX_POSITION)] = 0,
    stream: Name | None = None,
    type: Name | None = None,
    tenant: TenantName | None = None,
    ping_s: Annotated[float, Query(ge=1, le=60, description="keep-alive interval")] = 15,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> Response:
    """The log, live, as Server-Sent Events: each event's `id` is its position and its
    `event` its type. Reconnect with `Last-Event-ID` (browsers do it by themselves) to
    resume after the last event received; it takes precedence over `after`. A position
    beyond the log's head is refused (422). Open streams are limited in all
    (`MAX_STREAMS`, 503 beyond) and per API key (`MAX_STREAMS_PER_KEY`, 429 beyond).
    `tenant`: that tenant's events only; a key bound to a tenant follows that tenant's."""
    tenant = tenant_seen(bound, tenant)
    if last_event_id is not None:
        if not (last_event_id.isascii() and last_event_id.isdigit()):
            raise InvalidValue("Last-Event-ID must be an event position (digits)")
        after = int(last_event_id)
        if after > MAX_POSITION:
            raise InvalidValue(f"Last-Event-ID must be at most {MAX_POSITION}")
    head = await run_in_threadpool(reads.head)
    if after > head:
        raise InvalidValue(f"position {after} is after the log head {head}")
    await run_in_threadpool(reads.check_after, after)
    slots: StreamSlots = request.app.state.stream_slots
    try:
        release = slots.take(getattr(request.state, "principal", None))
    except TooManyStreams as refused:
        response = problem(refused.status, str(refused), "too-many-streams")
        response.headers["Retry-After"] = "5"
        return response
    fanout: LogFanout = request.app.state.log_fanout
    return StreamingResponse(
        events_after(
            fanout, reads, StreamAsk(after, stream, type, ping_s, tenant, bound), closing, release
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/logs", dependencies=[requires(READ), EVERY_TENANT], response_model=LogPage)
def logs(
    reads: Reads,
    task_id: uuid.UUID | None = None,
    event_type: Name | None = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    entries, total = reads.logs(
        None if task_id is None else str(task_id), event_type, page, page_size
    )
    return {"logs": entries, "total": total, "page": page, "page_size": page_size}
