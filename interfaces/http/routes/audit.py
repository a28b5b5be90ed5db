from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from interfaces.http.deps import Service
from interfaces.http.schemas import AuditOut

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("/verify", response_model=AuditOut)
def verify(service: Service) -> dict[str, Any]:
    """Recompute every recorded decision with the algorithm version that made it, check the
    domain invariants at every step of a fold from position 0, and walk the hash chain.
    Reads the whole log: on a large store this takes seconds (the CLI shows progress)."""
    return audit_view(service.audit())


def audit_view(report: Any) -> dict[str, Any]:
    return {**asdict(report), "ok": report.ok}
