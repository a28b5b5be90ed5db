from typing import Annotated, Any

from fastapi import APIRouter, Path

from interfaces.http.deps import Projections
from interfaces.http.middleware.auth import ADMIN, READ, requires

router = APIRouter(prefix="/api/v1/projections", tags=["projections"])


@router.get("", dependencies=[requires(READ)])
def projections(admin: Projections) -> dict[str, Any]:
    return {"projections": admin.status()}


@router.post("/{name}/rebuild", dependencies=[requires(ADMIN)], status_code=202)
def rebuild(
    name: Annotated[str, Path(min_length=1, max_length=100)], admin: Projections
) -> dict[str, Any]:
    """Empty the projection and replay the whole log into it, in the background."""
    return admin.start_rebuild(name)
