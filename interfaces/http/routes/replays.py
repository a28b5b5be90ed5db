import threading
from typing import Any

from fastapi import APIRouter, Request

from application.audit.whatif import TenantOverride, compare
from application.ports import TimeTravel
from interfaces.http.as_of import InvalidTime, position_of
from interfaces.http.deps import EVERY_TENANT, Replays, TimeTravelling
from interfaces.http.heavy_requests import HeavyRequests
from interfaces.http.middleware.auth import ADMIN, requires
from interfaces.http.schemas import LogPoint, ReplayIn, ReplayOut, given

router = APIRouter(prefix="/api/v1/replays", tags=["audit"])


@router.post("", dependencies=[requires(ADMIN), EVERY_TENANT], response_model=ReplayOut)
async def what_if(
    body: ReplayIn, replays: Replays, history: TimeTravelling, request: Request
) -> dict[str, Any]:
    """Run the recorded arrivals and pool configuration through a deterministic simulation
    under `algorithm`, each task keeping its recorded processing time and outcome, and
    compare with what actually happened, overall and per tenant (fair share and
    preemption with the recorded settings, or with `tenants` overriding some). Same
    input, same output. Not for a key bound to one tenant (403): it shows every tenant's
    waits. One such request at a
    time, answered within HEAVY_REQUEST_S (503 otherwise; `taskrouterx replay whatif` has
    no bound)."""
    heavy: HeavyRequests = request.app.state.heavy_requests

    def work(stop: threading.Event) -> dict[str, Any]:
        to = _position(history, body.to) if body.to is not None else replays.head()
        start = _position(history, body.from_) if body.from_ is not None else 0
        if start > to:
            raise InvalidTime(f"from ({start}) is after to ({to})")
        overrides = {
            name: TenantOverride(patch.weight, given(patch.quota), given(patch.borrowing))
            for name, patch in (body.tenants or {}).items()
        }
        result = compare(replays.up_to(to), body.algorithm, start, overrides)
        return {**result, "window": {"from": start, "to": to}}

    return await heavy.run(work, f"taskrouterx replay whatif --algorithm {body.algorithm}")


def _position(history: TimeTravel, point: LogPoint) -> int:
    return position_of(history, str(point))
