"""The log as Server-Sent Events: every event after a position, then each new one as it
commits. An event's SSE `id` is its global position, so a client that reconnects with
`Last-Event-ID` resumes exactly after the last event it got: nothing lost, nothing twice.
While the log is quiet a comment line keeps the connection alive; the stream ends when the
client goes away, or when the server is closing (after what it had to send)."""

from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool

from application.service import TaskRouterService
from interfaces.http.closing import Closing
from interfaces.http.commit_waits import CommitWaits

PAGE = 500
RETRY_MS = 1000
"""How long a disconnected client should wait before reconnecting."""


def frame(event: dict[str, Any]) -> bytes:
    return (
        f"id: {event['position']}\nevent: {event['type']}\ndata: ".encode()
        + orjson.dumps(event)
        + b"\n\n"
    )


async def events_after(
    service: TaskRouterService,
    after: int,
    stream: str | None,
    type: str | None,
    ping_s: float,
    closing: Closing,
) -> AsyncIterator[bytes]:
    with CommitWaits(service, closing) as commits:
        yield f"retry: {RETRY_MS}\n\n".encode()
        position = after
        while True:  # until the client goes: Starlette then cancels this generator
            commits.mark()
            page, head = await run_in_threadpool(
                service.read_model.events_page, position, PAGE, stream, type
            )
            for event in page:
                yield frame(event)
            if len(page) == PAGE:
                position = page[-1]["position"]
                continue
            # a short page holds every match up to the head it was read with
            position = max(position, head, page[-1]["position"] if page else 0)
            if commits.closing:
                return
            if not await commits.wait(ping_s):
                yield b": ping\n\n"
