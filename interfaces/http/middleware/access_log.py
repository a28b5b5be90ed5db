"""One log line and one metrics observation per request: method, route template, status,
duration and the request id (bound by RequestIdMiddleware, outside this one)."""

import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from application.service import TaskRouterService

log = structlog.get_logger("taskrouterx.http")

UNMATCHED = "unmatched"
"""The route label of a request no route matched: raw paths would make unbounded labels."""


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp, service: TaskRouterService) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", UNMATCHED)
            method = scope["method"]
            self.service.observe_request(route, method, status, seconds)
            log.info(
                "http.request",
                method=method,
                route=route,
                status=status,
                duration_ms=round(seconds * 1000, 3),
            )
