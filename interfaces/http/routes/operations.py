"""What operators point their tools at: Prometheus metrics and readiness."""

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from interfaces.http.deps import Exposition, Node
from interfaces.http.middleware.auth import PUBLIC, READ, requires
from interfaces.http.problems import PROBLEM_JSON, TYPE_BASE

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics", dependencies=[requires(READ)], include_in_schema=True, response_class=Response
)
def metrics(exposition: Exposition) -> Response:
    """Prometheus text exposition (docs/operations.md lists the names)."""
    body, content_type = exposition.metrics_exposition()
    return Response(body, media_type=content_type)


@router.get("/api/v1/ready", dependencies=[PUBLIC])
def ready(node: Node) -> Any:
    """200 when this node can serve: the database answers, the schema is at the newest
    migration, every projection is within the allowed lag and none is rebuilding, and the
    scheduler runs (or stands by on a node that is not the leader). 503 otherwise, with
    each check's verdict."""
    report = node.readiness()
    if report["ready"]:
        return report
    body = {
        "type": TYPE_BASE + "not-ready",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "not ready: "
        + ", ".join(name for name, check in report["checks"].items() if not check["ok"]),
        **report,
    }
    return JSONResponse(body, status_code=503, media_type=PROBLEM_JSON,
                        headers={"Retry-After": "1"})  # fmt: skip
