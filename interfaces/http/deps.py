"""Dependencies shared by the routes (async: no thread-pool hop to read request state).

A route asks for the narrow port it uses (`Reads`, `Sender`, `Now`, `TimeTravelling`...),
each one part of the running service."""

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from application.audit.continuous import VerificationJobs
from application.messages import Command, CommandResult, MessageContext
from application.ports import Clock, CommandSender, ReadModel, ReplaySource, TimeTravel
from application.service import (
    Auditor,
    CommitSource,
    LatestVerification,
    MetricsExposition,
    NodeStatus,
    ProjectionAdmin,
    TaskRouterService,
)
from application.service import Traffic as TrafficRuns
from application.tracing import Tracer
from domain.errors import TenantNotFound
from interfaces.http.closing import Closing
from interfaces.http.completions import wait_for


def service_of(request: Request) -> TaskRouterService:
    service: TaskRouterService = request.app.state.service
    return service


def context_of(request: Request) -> MessageContext:
    """The request's id correlates what it causes; the actor is the API key's name (or
    "api" when the service runs without keys); with tracing on, the request's span is the
    trace its events are recorded under."""
    principal = getattr(request.state, "principal", None)
    actor = "api" if principal is None else f"key:{principal}"
    tracer = service_of(request).tracer
    trace = tracer.current() if tracer.enabled else None
    return MessageContext(correlation_id=request.state.request_id, actor=actor, trace=trace)


async def get_context(request: Request) -> MessageContext:
    return context_of(request)


def bound_tenant_of(request: Request) -> str | None:
    """The tenant the request's API key is bound to (None: any tenant)."""
    tenant: str | None = getattr(request.state, "tenant", None)
    return tenant


def tenant_seen(bound: str | None, asked: str | None) -> str | None:
    """The tenant a request reads: the one it asks for, or its key's; a key bound to a
    tenant knows no other (404, not 403: names do not leak)."""
    if bound is not None and asked not in (None, bound):
        raise TenantNotFound(asked or "")
    return bound or asked


async def get_bound_tenant(request: Request) -> str | None:
    return bound_tenant_of(request)


async def _every_tenant(request: Request) -> None:
    if bound_tenant_of(request) is not None:
        raise HTTPException(
            403,
            "this API key is bound to one tenant, and this operation shows or hands out every "
            "tenant's tasks",
        )


EVERY_TENANT = Depends(_every_tenant)
"""A route's declaration that it shows or hands out every tenant's tasks (the log, a pool's
lease): a key bound to one tenant gets 403 there."""


async def get_closing(request: Request) -> Closing:
    closing: Closing = request.app.state.closing
    return closing


def _part(name: str) -> Any:
    """A dependency giving one part of the service (`None`: the service itself, through
    one of the narrow protocols it implements)."""

    async def part(request: Request) -> Any:
        service = request.app.state.service
        return service if name == "" else getattr(service, name)

    part.__name__ = f"get_{name or 'node'}"
    return Depends(part)


Context = Annotated[MessageContext, Depends(get_context)]
BoundTenant = Annotated[str | None, Depends(get_bound_tenant)]
ServerClosing = Annotated[Closing, Depends(get_closing)]
Reads = Annotated[ReadModel, _part("read_model")]
Sender = Annotated[CommandSender, _part("sender")]
Now = Annotated[Clock, _part("clock")]
TimeTravelling = Annotated[TimeTravel, _part("time_travel")]
Replays = Annotated[ReplaySource, _part("replays")]
Traffic = Annotated[TrafficRuns, _part("traffic")]
Projections = Annotated[ProjectionAdmin, _part("projections")]
LeaseSeconds = Annotated[float, _part("lease_s")]
Tracing = Annotated[Tracer, _part("tracer")]
Commits = Annotated[CommitSource, _part("")]
Node = Annotated[NodeStatus, _part("")]
Audits = Annotated[Auditor, _part("")]
Verifier = Annotated[LatestVerification | None, _part("verifier")]
Verifications = Annotated[VerificationJobs, _part("verifications")]
Exposition = Annotated[MetricsExposition, _part("")]


async def send(sender: CommandSender, command: Command, context: MessageContext) -> CommandResult:
    """Hand the command to the single writer and wait for its commit."""
    return await wait_for(sender.submit(command, context))
