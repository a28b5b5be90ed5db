from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from interfaces.http.deps import Service

router = APIRouter(prefix="/api/v1", tags=["system"])


@router.get("/system/stats")
def stats(service: Service) -> dict[str, Any]:
    result = service.read_model.stats(service.clock.now())
    result["scheduler_stats"]["runtime"] = service.scheduler_runtime()
    return result


@router.get("/health")
def health(service: Service) -> JSONResponse:
    report = service.health()
    return JSONResponse(report, status_code=200 if report["status"] == "healthy" else 503)
