"""Gives every request an id (X-Request-ID, or a new one), binds it to the log context,
and echoes it back; commands carry it as their correlation id."""

import random
import re

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from application.ordered_ids import uuid7_now

HEADER = b"x-request-id"
ACCEPTED = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._random = random.Random()

    def _new_id(self) -> str:
        """A UUIDv7 from a fast generator: request ids need uniqueness, not secrecy, and
        being the correlation ids of the events they cause, ids ordered in time keep the
        index on them appending (see TimeOrderedIds)."""
        return uuid7_now(self._random)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = dict(scope["headers"]).get(HEADER, b"").decode("latin-1")
        request_id = offered if offered and ACCEPTED.match(offered) else self._new_id()
        scope.setdefault("state", {})["request_id"] = request_id
        # a request's id is also the correlation id of every event it causes
        structlog.contextvars.bind_contextvars(request_id=request_id, correlation_id=request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.unbind_contextvars("request_id", "correlation_id")
