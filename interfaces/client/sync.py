"""The synchronous client."""

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from interfaces.client import calls
from interfaces.client.calls import API, Call
from interfaces.client.errors import ProblemError
from interfaces.client.events import StreamedEvent, streamed
from interfaces.client.methods import Sends
from interfaces.client.retries import Attempts, RetryPolicy
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

PAGE_SIZE = 100


class Client:
    """TaskRouterX over HTTP. `api_key`: sent as `X-API-Key` (none in open mode).
    `http`: an httpx client to send through instead of one of its own (its base URL is
    then the server's). A refused request raises ProblemError; 429 and 503 are sent again
    after their `Retry-After`, within `retry`'s budget."""

    def __init__(
        self,
        url: str = "http://localhost:8000",
        api_key: str | None = None,
        timeout_s: float = 10.0,
        retry: RetryPolicy = RetryPolicy(),
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._http = http or httpx.Client(base_url=url, timeout=timeout_s)
        self._own = http is None
        self._headers = {} if api_key is None else {"X-API-Key": api_key}
        self._retry = retry
        self._sleep = sleep

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own:
            self._http.close()

    submit = Sends(calls.submit)
    get = Sends(calls.get)
    cancel = Sends(calls.cancel)
    retry = Sends(calls.retry)
    decisions = Sends(calls.decisions)
    timeline = Sends(calls.timeline)
    pools = Sends(calls.pools)
    register_pool = Sends(calls.register_pool)
    set_capacity = Sends(calls.set_capacity)
    drain = Sends(calls.drain)
    resume = Sends(calls.resume)
    switch_algorithm = Sends(calls.switch_algorithm)
    stats = Sends(calls.stats)
    verify = Sends(calls.verify)
    start_verification = Sends(calls.start_verification)
    verification = Sends(calls.verification)
    what_if = Sends(calls.what_if)

    def tasks(
        self,
        status: str | None = None,
        type: str | None = None,
        region: str | None = None,
        tenant: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[Task]:
        """Every task that matches, newest first, page after page (a task submitted while
        iterating may push older ones to a later page: each is given once)."""
        walk = Pages(page_size)
        while (page := walk.next()) is not None:
            yield from walk.take(
                self.run(calls.tasks_page(page, page_size, status, type, region, tenant))
            )

    def events(
        self,
        after: int = 0,
        stream: str | None = None,
        type: str | None = None,
        tenant: str | None = None,
    ) -> Iterator[StreamedEvent]:
        """The log after position `after`, live and without end (of one stream, event type
        or tenant, if given): each event as it is committed. A dropped connection is
        resumed after the last event given, so none is lost or given twice."""
        while True:
            params = following(after, stream, type, tenant)
            try:
                with self._stream(params, PING_S * 3) as response:
                    for event in streamed(response.iter_lines()):
                        if event is not None:
                            after = event.position
                            yield event
            except httpx.TransportError:
                self._sleep(RECONNECT_S)

    def wait(self, task_id: str, timeout_s: float | None = None) -> Task:
        """The task once it is completed, cancelled, or failed for good: told by the event
        stream of its own events (from its latest one, resumed after a dropped connection),
        not by polling. TimeoutError after `timeout_s`."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        task = self.get(task_id)
        seen = Seen(task["position"])
        while task["status"] not in FINISHED:
            left = seen.left(deadline, task)
            try:
                self._until_an_ending(task_id, seen, left)
            except httpx.TransportError:
                self._sleep(RECONNECT_S)  # the stream resumes after what was seen
            task = self.get(task_id)
        return task

    def _until_an_ending(self, task_id: str, seen: Seen, left: float | None) -> None:
        """Follow the task's events until one may end it (or a ping finds the time up)."""
        params, read = stream_of(task_id, seen.position, left)
        started = time.monotonic()
        with self._stream(params, read) as response:
            for event in streamed(response.iter_lines()):
                if ends(event, seen, started, left):
                    return

    @contextlib.contextmanager
    def _stream(self, params: dict[str, Any], read: float) -> Iterator[httpx.Response]:
        """The event stream opened with `params` (ProblemError if refused)."""
        with self._http.stream(
            "GET", f"{API}/events/stream", params=params, headers=self._headers,
            timeout=httpx.Timeout(10.0, read=read),
        ) as response:  # fmt: skip
            if not response.is_success:
                response.read()
                raise ProblemError.of(response)
            yield response

    def run(self, call: Call[Any]) -> Any:
        """Send a call: its result; ProblemError for a refusal, httpx's TransportError if
        no answer came (after the retries a read or an idempotent submission gets)."""
        attempts = Attempts(self._retry)
        while True:
            try:
                response = self._http.request(**call.sent(self._headers))
            except httpx.TransportError as lost:
                self._sleep(attempts.wait_after_loss(lost, call.repeatable))
                continue
            if response.is_success:
                return call.answered(response.content, response.json)
            self._sleep(attempts.wait_after(response))
