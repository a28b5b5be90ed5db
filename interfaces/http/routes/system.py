from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from interfaces.http.as_of import AsOf, position_of
from interfaces.http.deps import Service

router = APIRouter(prefix="/api/v1", tags=["system"])


@router.get("/system/stats")
def stats(service: Service, as_of: AsOf = None) -> dict[str, Any]:
    """Live, or as it was at `as_of` (throughput over the 60 s before that point; the
    scheduler's runtime figures are always the live process's)."""
    if as_of is not None:
        result = service.time_travel.stats(position_of(service, as_of))
    else:
        result = service.read_model.stats(service.clock.now())
    result["scheduler_stats"]["runtime"] = service.scheduler_runtime()
    return result


@router.get("/health")
def health(service: Service) -> JSONResponse:
    report = service.health()
    return JSONResponse(report, status_code=200 if report["status"] == "healthy" else 503)
