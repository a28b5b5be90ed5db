"""The FastAPI application: routers, the dashboard, error mapping, CORS, request ids, and a
lifespan that starts and stops the service."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from application.service import TaskRouterService
from interfaces.dashboard import site
from interfaces.http import openapi, problems
from interfaces.http.closing import Closing
from interfaces.http.event_stream import StreamSlots
from interfaces.http.heavy_requests import HeavyRequests
from interfaces.http.log_fanout import LogFanout
from interfaces.http.middleware.access_log import AccessLogMiddleware
from interfaces.http.middleware.auth import AccessRules, AuthMiddleware, KeyRing
from interfaces.http.middleware.body_limit import BodyLimitMiddleware
from interfaces.http.middleware.rate_limit import RateLimiter
from interfaces.http.middleware.request_guard import RequestGuardMiddleware, allowed_hosts_for
from interfaces.http.middleware.request_id import RequestIdMiddleware
from interfaces.http.middleware.security_headers import SecurityHeadersMiddleware
from interfaces.http.routes import (
    algorithms,
    audit,
    dead_letters,
    events,
    operations,
    projections,
    replays,
    simulate,
    system,
    tasks,
    tenants,
    workers,
)
from interfaces.http.single_values import single_valued_query

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
ROUTERS = [
    module.router
    for module in (
        tasks, dead_letters, workers, tenants, algorithms, system, events, simulate, projections,
        audit, replays, operations,
    )
]  # fmt: skip
"""In the order the app matches them."""


def create_app(
    service: TaskRouterService,
    cors_origins: list[str] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    keys: KeyRing | None = None,
    limiter: RateLimiter | None = None,
    stream_slots: StreamSlots | None = None,
    release_memory: Callable[[], None] = lambda: None,
    allowed_hosts: frozenset[str] | None = None,
    heavy_request_s: float = 5.0,
) -> FastAPI:
    """The app; middleware from the outside in: security headers, request id, access log
    and metrics, CORS, the request guard (Host, Origin, JSON bodies), API keys and rate
    limits, body limit."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            service.stop()

    app = FastAPI(
        title="TaskRouterX",
        version="1.0.0",
        description="Event-sourced task routing: every scheduling decision is recorded, "
        "replayable and explained.",
        lifespan=lifespan,
        dependencies=[Depends(single_valued_query)],
    )
    app.state.service = service
    app.state.closing = Closing()
    app.state.stream_slots = stream_slots or StreamSlots(total=500, per_key=50)
    app.state.log_fanout = LogFanout(service, app.state.closing, release_memory)
    app.state.heavy_requests = HeavyRequests(heavy_request_s)
    problems.install(app)
    openapi.install(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(
        AuthMiddleware, keys=keys or KeyRing({}), rules=AccessRules.of(ROUTERS), limiter=limiter
    )
    app.add_middleware(
        RequestGuardMiddleware,
        allowed_hosts=allowed_hosts or allowed_hosts_for("127.0.0.1", None),
        allowed_origins=cors_origins or [],
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=cors_origins or [],
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["X-Request-ID", "Idempotency-Replayed", "Retry-After"],
    )
    app.add_middleware(AccessLogMiddleware, service=service)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    for router in ROUTERS:
        app.include_router(router)

    site.install(app)
    return app
