from typing import Any

from fastapi import APIRouter

from application.audit.whatif import compare
from interfaces.http.as_of import InvalidTime, position_of
from interfaces.http.deps import Service
from interfaces.http.schemas import LogPoint, ReplayIn, ReplayOut

router = APIRouter(prefix="/api/v1/replays", tags=["audit"])


@router.post("", response_model=ReplayOut)
def what_if(body: ReplayIn, service: Service) -> dict[str, Any]:
    """Run the recorded arrivals and pool configuration through a deterministic simulation
    under `algorithm`, each task keeping its recorded processing time and outcome, and
    compare with what actually happened. Same input, same output."""
    to = _position(service, body.to) if body.to is not None else service.replays.head()
    start = _position(service, body.from_) if body.from_ is not None else 0
    if start > to:
        raise InvalidTime(f"from ({start}) is after to ({to})")
    result = compare(service.replays.up_to(to), body.algorithm, reported_from=start)
    return {**result, "window": {"from": start, "to": to}}


def _position(service: Service, point: LogPoint) -> int:
    return position_of(service, str(point))
