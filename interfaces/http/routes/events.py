import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from interfaces.http.deps import Service
from interfaces.http.schemas import EventPage, LogPage

router = APIRouter(prefix="/api/v1", tags=["events"])

Name = Annotated[str, Query(min_length=1, max_length=200)]


@router.get("/events", response_model=EventPage)
def events(
    service: Service,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    stream: Name | None = None,
    type: Name | None = None,
    correlation_id: Name | None = None,
) -> dict[str, Any]:
    """The log in position order; `correlation_id` finds everything one request caused."""
    page, head = service.read_model.events_page(after, limit, stream, type, correlation_id)
    next_after = page[-1]["position"] if len(page) == limit else max(after, head)
    return {"events": page, "next_after": next_after, "head": head}


@router.get("/logs", response_model=LogPage)
def logs(
    service: Service,
    task_id: uuid.UUID | None = None,
    event_type: Name | None = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    entries, total = service.read_model.logs(
        None if task_id is None else str(task_id), event_type, page, page_size
    )
    return {"logs": entries, "total": total, "page": page, "page_size": page_size}
