from typing import Any

from fastapi import APIRouter, Request, Response

from application import views
from application.commands.tenants import ChangeTenant, CreateTenant
from application.idempotency import Response as IdempotentResponse
from application.idempotency import Sources
from application.messages import CommandResult
from application.ports import ReadModel
from domain.errors import TenantNotFound
from domain.tenant import tenant_stream
from domain.values import Limits
from interfaces.http.as_of import AsOf, position_of
from interfaces.http.deps import (
    EVERY_TENANT,
    BoundTenant,
    Context,
    Reads,
    Sender,
    TimeTravelling,
    send,
    tenant_seen,
)
from interfaces.http.idempotent import execute, json_body
from interfaces.http.middleware.auth import READ, TENANTS, requires
from interfaces.http.schemas import (
    BorrowingIn,
    QuotaIn,
    TenantCreate,
    TenantList,
    TenantName,
    TenantOut,
    TenantPatch,
    given,
)

router = APIRouter(prefix="/api/v1/tenants", tags=["tenants"])


@router.get("", dependencies=[requires(READ)], response_model=TenantList)
def list_tenants(
    reads: Reads, bound: BoundTenant, history: TimeTravelling, as_of: AsOf = None
) -> dict[str, Any]:
    """Every tenant with its settings and its queued, delayed and processing tasks; the
    `default` tenant (where tasks without a tenant go) is always there. A key bound to a
    tenant sees that one only. With `as_of`, the tenants as they were then (their settings
    and preempted tasks; their task counts are not kept through time: null)."""
    if as_of is not None:
        found = history.tenants(position_of(history, as_of))
    elif bound is not None:
        own = reads.get_tenant(bound)
        found = [] if own is None else [own]
    else:
        found = reads.list_tenants()
    if bound is not None:
        found = [tenant for tenant in found if tenant["name"] == bound]
    return {"tenants": found}


@router.post(
    "",
    dependencies=[requires(TENANTS), EVERY_TENANT],
    status_code=201,
    response_model=TenantOut,
)
async def create_tenant(body: TenantCreate, request: Request) -> Response:
    """A tenant: a weight (its share of contended capacity) and optional quotas per resource
    type, with what it may borrow past them on capacity others leave idle."""
    command = CreateTenant(body.name, body.weight, _limits(body.quota), _limits(body.borrowing))
    return await execute(request, command, _created)


def _created(result: CommandResult, sources: Sources) -> IdempotentResponse:
    assert result.aggregate_id is not None
    return json_body(201, views.tenant_view(sources.history(tenant_stream(result.aggregate_id))))


@router.get("/{name}", dependencies=[requires(READ)], response_model=TenantOut)
def get_tenant(name: TenantName, reads: Reads, bound: BoundTenant) -> dict[str, Any]:
    return _tenant(reads, name, bound)


@router.patch("/{name}", dependencies=[requires(TENANTS)], response_model=TenantOut)
async def change_tenant(
    name: TenantName,
    body: TenantPatch,
    sender: Sender,
    reads: Reads,
    context: Context,
    bound: BoundTenant,
) -> dict[str, Any]:
    """Change a tenant's weight, quota or borrowing. A quota lowered below what the tenant
    runs stops its new placements; its running tasks go on."""
    tenant_seen(bound, name)
    command = ChangeTenant(name, body.weight, given(body.quota), given(body.borrowing))
    await send(sender, command, context)
    return _tenant(reads, name, bound)


def _limits(body: QuotaIn | BorrowingIn) -> Limits:
    return Limits(body.cpu, body.gpu)


def _tenant(reads: ReadModel, name: str, bound: str | None) -> dict[str, Any]:
    """The tenant; another than a bound key's does not exist for it (404, not 403)."""
    tenant_seen(bound, name)
    tenant = reads.get_tenant(name)
    if tenant is None:
        raise TenantNotFound(name)
    return tenant
