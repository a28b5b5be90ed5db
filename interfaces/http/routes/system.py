from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from application.read_models.tenants import STEP_S as TENANT_STEP_S
from domain.errors import InvalidValue, TenantNotFound
from interfaces.http.as_of import AsOf, position_of
from interfaces.http.deps import BoundTenant, Node, Now, Reads, TimeTravelling, tenant_seen
from interfaces.http.middleware.auth import PUBLIC, READ, requires
from interfaces.http.schemas import Series, TenantName, TenantSeries

router = APIRouter(prefix="/api/v1", tags=["system"])


@router.get("/system/stats", dependencies=[requires(READ)])
def stats(
    reads: Reads,
    history: TimeTravelling,
    clock: Now,
    node: Node,
    bound: BoundTenant,
    as_of: AsOf = None,
    tenant: TenantName | None = None,
) -> dict[str, Any]:
    """Live, or as it was at `as_of` (throughput over the 60 s before that point; the
    scheduler's runtime figures are always the live process's). With `tenant` (and always
    for a key bound to one), the task counts are that tenant's, live only; throughput,
    latency, utilization and the scheduler's figures stay the whole router's."""
    seen = tenant_seen(bound, tenant)
    if seen is not None and as_of is not None:
        raise InvalidValue("a tenant's task counts are not kept through time: drop as_of")
    if seen is not None and reads.get_tenant(seen) is None:
        raise TenantNotFound(seen)
    if as_of is not None:
        result = history.stats(position_of(history, as_of))
    else:
        result = reads.stats(clock.now(), seen)
    result["scheduler_stats"]["runtime"] = node.scheduler_runtime()
    return result


@router.get("/system/series", dependencies=[requires(READ)], response_model=Series)
def series(
    reads: Reads,
    clock: Now,
    window_s: Annotated[int, Query(ge=10, le=86_400)] = 600,
    step_s: Annotated[int, Query(ge=1, le=3_600)] = 10,
) -> dict[str, Any]:
    """Throughput and mean latency over the last `window_s` seconds in steps of `step_s`
    (the window is rounded up to whole steps, at most 1,000 of them), oldest first. Steps
    are aligned to multiples of `step_s` since the epoch; the last is the current one,
    counted over the seconds it has had so far."""
    if -(-window_s // step_s) > MAX_STEPS:
        raise InvalidValue(f"window_s / step_s must be at most {MAX_STEPS} steps")
    points = reads.series(clock.now(), window_s, step_s)
    return {"window_s": len(points) * step_s, "step_s": step_s, "points": points}


@router.get("/system/tenant-series", dependencies=[requires(READ)], response_model=TenantSeries)
def tenant_series(
    reads: Reads,
    clock: Now,
    bound: BoundTenant,
    window_s: Annotated[int, Query(ge=10, le=86_400)] = 600,
    step_s: Annotated[int, Query(ge=TENANT_STEP_S, le=3_600)] = 10,
) -> dict[str, Any]:
    """Each tenant's running tasks, and their share of the slots of the pools taking tasks
    now, at the end of each step over the last `window_s` seconds (steps as in
    /system/series, a multiple of 10 s: what the tenants' counts are kept per). A key
    bound to a tenant sees only its own."""
    if step_s % TENANT_STEP_S:
        raise InvalidValue(f"step_s must be a multiple of {TENANT_STEP_S}")
    if -(-window_s // step_s) > MAX_STEPS:
        raise InvalidValue(f"window_s / step_s must be at most {MAX_STEPS} steps")
    result = reads.tenant_series(clock.now(), window_s, step_s)
    if bound is not None:
        result["tenants"] = {k: v for k, v in result["tenants"].items() if k == bound}
    return result


MAX_STEPS = 1_000


@router.get("/health", dependencies=[PUBLIC])
def health(node: Node) -> JSONResponse:
    """200 while the process works ("healthy", or "degraded" while a reactor's writes fail
    and are being retried: it shows which, since when and why); 503 when it does not."""
    report = node.health()
    return JSONResponse(report, status_code=503 if report["status"] == "unhealthy" else 200)
