"""The asynchronous client: the sync one's calls (`calls`), awaited."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from interfaces.client import calls
from interfaces.client.calls import API, Call
from interfaces.client.errors import ProblemError
from interfaces.client.events import Frames, StreamedEvent
from interfaces.client.methods import SendsLater
from interfaces.client.retries import Attempts, RetryPolicy
from interfaces.client.sync import PAGE_SIZE
from interfaces.client.types import Task
from interfaces.client.waiting import (
    FINISHED,
    PING_S,
    RECONNECT_S,
    Pages,
    Seen,
    ends,
    following,
    stream_of,
)


class AsyncClient:
    """TaskRouterX over HTTP, for asyncio: as `Client`, each call awaited."""

    def __init__(
        self,
        url: str = "http://localhost:8000",
        api_key: str | None = None,
        timeout_s: float = 10.0,
        retry: RetryPolicy = RetryPolicy(),
        http: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._http = http or httpx.AsyncClient(base_url=url, timeout=timeout_s)
        self._own = http is None
        self._headers = {} if api_key is None else {"X-API-Key": api_key}
        self._retry = retry
        self._sleep = sleep

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own:
            await self._http.aclose()

    submit = SendsLater(calls.submit)
    get = SendsLater(calls.get)
    cancel = SendsLater(calls.cancel)
    retry = SendsLater(calls.retry)
    decisions = SendsLater(calls.decisions)
    timeline = SendsLater(calls.timeline)
    pools = SendsLater(calls.pools)
    register_pool = SendsLater(calls.register_pool)
    set_capacity = SendsLater(calls.set_capacity)
    drain = SendsLater(calls.drain)
    resume = SendsLater(calls.resume)
    switch_algorithm = SendsLater(calls.switch_algorithm)
    stats = SendsLater(calls.stats)
    verify = SendsLater(calls.verify)
    start_verification = SendsLater(calls.start_verification)
    verification = SendsLater(calls.verification)
    what_if = SendsLater(calls.what_if)

    async def tasks(
        self,
        status: str | None = None,
        type: str | None = None,
        region: str | None = None,
        tenant: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> AsyncIterator[Task]:
        """As `Client.tasks`."""
        walk = Pages(page_size)
        while (page := walk.next()) is not None:
            found = await self.run(calls.tasks_page(page, page_size, status, type, region, tenant))
            for task in walk.take(found):
                yield task

    async def events(
        self,
        after: int = 0,
        stream: str | None = None,
        type: str | None = None,
        tenant: str | None = None,
    ) -> AsyncIterator[StreamedEvent]:
        """As `Client.events`."""
        while True:
            params = following(after, stream, type, tenant)
            try:
                async with self._stream(params, PING_S * 3) as response:
                    frames = Frames()
                    async for line in response.aiter_lines():
                        for event in frames.feed(line):
                            if event is not None:
                                after = event.position
                                yield event
            except httpx.TransportError:
                await self._sleep(RECONNECT_S)

    async def wait(self, task_id: str, timeout_s: float | None = None) -> Task:
        """As `Client.wait`."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        task: Task = await self.get(task_id)
        seen = Seen(task["position"])
        while task["status"] not in FINISHED:
            left = seen.left(deadline, task)
            try:
                await self._until_an_ending(task_id, seen, left)
            except httpx.TransportError:
                await self._sleep(RECONNECT_S)
            task = await self.get(task_id)
        return task

    async def _until_an_ending(self, task_id: str, seen: Seen, left: float | None) -> None:
        params, read = stream_of(task_id, seen.position, left)
        started = time.monotonic()
        async with self._stream(params, read) as response:
            frames = Frames()
            async for line in response.aiter_lines():
                if any(ends(event, seen, started, left) for event in frames.feed(line)):
                    return

    @contextlib.asynccontextmanager
    async def _stream(self, params: dict[str, Any], read: float) -> AsyncIterator[httpx.Response]:
        """The event stream opened with `params` (ProblemError if refused)."""
        async with self._http.stream(
            "GET", f"{API}/events/stream", params=params, headers=self._headers,
            timeout=httpx.Timeout(10.0, read=read),
        ) as response:  # fmt: skip
            if not response.is_success:
                await response.aread()
                raise ProblemError.of(response)
            yield response

    async def run(self, call: Call[Any]) -> Any:
        """Send a call: its result; ProblemError for a refusal, httpx's TransportError if
        no answer came (after the retries a read or an idempotent submission gets)."""
        attempts = Attempts(self._retry)
        while True:
            try:
                response = await self._http.request(**call.sent(self._headers))
            except httpx.TransportError as lost:
                await self._sleep(attempts.wait_after_loss(lost, call.repeatable))
                continue
            if response.is_success:
                return call.answered(response.content, response.json)
            await self._sleep(attempts.wait_after(response))
