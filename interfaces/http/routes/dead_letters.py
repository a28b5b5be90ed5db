from typing import Annotated, Any

from fastapi import APIRouter, Query

from domain.values import TaskStatus
from interfaces.http.deps import BoundTenant, Reads
from interfaces.http.middleware.auth import READ, requires
from interfaces.http.schemas import TaskPage

router = APIRouter(prefix="/api/v1/dead-letters", tags=["tasks"])


@router.get("", dependencies=[requires(READ)], response_model=TaskPage)
def dead_letters(
    reads: Reads,
    bound: BoundTenant,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """Tasks that failed for good, newest first, each with its attempts and last error
    (with a key bound to a tenant, that tenant's); `POST /api/v1/tasks/{id}/retry` sends
    one back for another round."""
    tasks, total = reads.list_tasks(TaskStatus.FAILED, None, None, page, page_size, bound)
    return {"tasks": tasks, "total": total, "page": page, "page_size": page_size}
