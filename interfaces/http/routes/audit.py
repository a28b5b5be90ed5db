import threading
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request

from interfaces.http.deps import Audits
from interfaces.http.heavy_requests import Abandoned, HeavyRequests
from interfaces.http.middleware.auth import ADMIN, requires
from interfaces.http.schemas import AuditOut

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("/verify", dependencies=[requires(ADMIN)], response_model=AuditOut)
async def verify(request: Request, auditor: Audits) -> dict[str, Any]:
    """Recompute every recorded decision with the algorithm version that made it, check the
    domain invariants at every step of a fold from position 0, and walk the hash chain.
    Reads the whole log: one such request at a time, answered within HEAVY_REQUEST_S
    (503 otherwise; `taskrouterx audit verify` has no bound and shows progress)."""
    heavy: HeavyRequests = request.app.state.heavy_requests

    def work(stop: threading.Event) -> dict[str, Any]:
        def progress(phase: str, done: int, total: int) -> None:
            if stop.is_set():
                raise Abandoned

        return audit_view(auditor.audit(progress))

    return await heavy.run(work, "taskrouterx audit verify")


def audit_view(report: Any) -> dict[str, Any]:
    return {**asdict(report), "ok": report.ok}
