"""The synchronous client."""

import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, cast

import httpx

from interfaces.client.errors import ProblemError
from interfaces.client.events import streamed
from interfaces.client.retries import RetryPolicy
from interfaces.client.types import Pool, Task, TaskPage

API = "/api/v1"
PAGE_SIZE = 100
FINISHED = frozenset({"completed", "cancelled", "failed"})
ENDINGS = frozenset(
    {"TaskCompleted", "TaskCancelled", "TaskFailed", "TaskLeaseExpired", "TaskDeadLettered"}
)
"""The events after which a task may have finished (a failure may be retried: it is read
again to know)."""
PING_S = 5
"""The keep-alive a waiting stream asks for: how often it can see its time is up."""
RECONNECT_S = 0.5


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

    # -- tasks -----------------------------------------------------------------------------

    def submit(
        self,
        type: str,
        priority: int,
        cost: float,
        region: str,
        *,
        resource_type: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        tenant: str | None = None,
        preemptible: bool = False,
        max_attempts: int | None = None,
        timeout_s: float | None = None,
        not_before: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> Task:
        """Submit a task. Each call sends an `Idempotency-Key` (a new one unless given), the
        same on every retry, so a submission retried after a lost answer is made once."""
        body: dict[str, Any] = {
            "type": type, "priority": priority, "cost": cost, "region": region,
            "metadata": dict(metadata or {}), "preemptible": preemptible,
        }  # fmt: skip
        optional = {
            "resource_type": resource_type, "tenant": tenant, "max_attempts": max_attempts,
            "timeout_s": timeout_s,
            "not_before": None if not_before is None else not_before.isoformat(),
        }  # fmt: skip
        body.update({name: value for name, value in optional.items() if value is not None})
        key = idempotency_key or str(uuid.uuid4())
        return cast(Task, self._send("POST", "/tasks", json=body, headers={"Idempotency-Key": key}))

    def get(self, task_id: str) -> Task:
        return cast(Task, self._send("GET", f"/tasks/{task_id}"))

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
        query = {"status": status, "type": type, "region": region, "tenant": tenant}
        params: dict[str, Any] = {k: v for k, v in query.items() if v is not None}
        seen: set[str] = set()
        page = 1
        while True:
            found = cast(
                TaskPage,
                self._send(
                    "GET", "/tasks", params={**params, "page": page, "page_size": page_size}
                ),
            )
            for task in found["tasks"]:
                if task["id"] not in seen:
                    seen.add(task["id"])
                    yield task
            if page * page_size >= found["total"] or not found["tasks"]:
                return
            page += 1

    def cancel(self, task_id: str, reason: str | None = None) -> Task:
        """Cancel a task: at once if no worker holds it, else its worker is asked to stop."""
        body = {} if reason is None else {"reason": reason}
        return cast(Task, self._send("POST", f"/tasks/{task_id}/cancel", json=body))

    def retry(self, task_id: str) -> Task:
        """A failed task's new round of attempts."""
        return cast(Task, self._send("POST", f"/tasks/{task_id}/retry"))

    def wait(self, task_id: str, timeout_s: float | None = None) -> Task:
        """The task once it is completed, cancelled, or failed for good: told by the event
        stream of its own events (from its latest one, resumed after a dropped connection),
        not by polling. TimeoutError after `timeout_s`."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        task = self.get(task_id)
        after = task["position"]
        while task["status"] not in FINISHED:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError(f"task {task_id} is still {task['status']}")
            try:
                after = self._until_an_ending(task_id, after, left)
            except httpx.TransportError:
                self._sleep(RECONNECT_S)  # the stream resumes after `after`
            task = self.get(task_id)
        return task

    def _until_an_ending(self, task_id: str, after: int, left: float | None) -> int:
        """Follow the task's events after `after` until one may end it (or a ping finds the
        time up); the position read up to."""
        ping = PING_S if left is None else max(1, min(PING_S, int(left)))
        stream = f"task-{task_id}"
        params: dict[str, str | int] = {"stream": stream, "after": after, "ping_s": ping}
        read = PING_S * 3 if left is None else max(min(PING_S * 3, left), 0.1)
        started = time.monotonic()
        with self._http.stream(
            "GET", f"{API}/events/stream", params=params, headers=self._headers,
            timeout=httpx.Timeout(10.0, read=read),
        ) as response:  # fmt: skip
            if not response.is_success:
                response.read()
                raise ProblemError.of(response)
            for event in streamed(response.iter_lines()):
                if event is not None:
                    after = event.position
                    if event.type in ENDINGS:
                        return after
                elif left is not None and time.monotonic() - started >= left:
                    return after
        return after

    def decisions(self, task_id: str) -> list[dict[str, Any]]:
        """Every scheduling decision for the task, as the scheduler saw it (each candidate
        pool, the tenant stage)."""
        return cast(
            list[dict[str, Any]], self._send("GET", f"/tasks/{task_id}/decisions")["decisions"]
        )

    def timeline(self, task_id: str) -> dict[str, Any]:
        """The task's events and the time it spent in each state."""
        return cast(dict[str, Any], self._send("GET", f"/tasks/{task_id}/timeline"))

    # -- pools, the algorithm, the system ---------------------------------------------------

    def pools(self) -> list[Pool]:
        return cast(list[Pool], self._send("GET", "/workers")["worker_pools"])

    def register_pool(
        self,
        name: str,
        region: str,
        resource_type: str,
        cost_per_unit: float,
        capacity: int,
        execution: str = "simulated",
    ) -> Pool:
        body = {
            "name": name, "region": region, "resource_type": resource_type,
            "cost_per_unit": cost_per_unit, "capacity": capacity, "execution": execution,
        }  # fmt: skip
        return cast(Pool, self._send("POST", "/workers", json=body))

    def set_capacity(self, pool_id: str, capacity: int) -> Pool:
        return cast(Pool, self._send("PATCH", f"/workers/{pool_id}", json={"capacity": capacity}))

    def drain(self, pool_id: str) -> Pool:
        """Stop placing tasks in the pool; its running tasks finish."""
        return cast(Pool, self._send("POST", f"/workers/{pool_id}/drain"))

    def resume(self, pool_id: str) -> Pool:
        return cast(Pool, self._send("POST", f"/workers/{pool_id}/resume"))

    def switch_algorithm(self, algorithm: str) -> str:
        """The algorithm in use from now on (`fifo`, `priority` or `min_cost`)."""
        answer = self._send("POST", "/algorithms/switch", json={"algorithm": algorithm})
        return str(answer["algorithm"])

    def stats(self, tenant: str | None = None) -> dict[str, Any]:
        params = {} if tenant is None else {"tenant": tenant}
        return cast(dict[str, Any], self._send("GET", "/system/stats", params=params))

    def verify(self) -> dict[str, Any]:
        """The continuous verification's latest report (`ok`, `behind`, the findings)."""
        return cast(dict[str, Any], self._send("GET", "/audit/verify"))

    def what_if(
        self,
        algorithm: str,
        tenants: Mapping[str, Mapping[str, Any]] | None = None,
        start: int | str | None = None,
        to: int | str | None = None,
    ) -> dict[str, Any]:
        """The recorded history replayed under `algorithm` (and other tenant settings),
        beside what happened; `start`/`to`: positions or ISO times."""
        body: dict[str, Any] = {"algorithm": algorithm}
        if tenants is not None:
            body["tenants"] = {name: dict(settings) for name, settings in tenants.items()}
        if start is not None:
            body["from"] = str(start)
        if to is not None:
            body["to"] = str(to)
        return cast(dict[str, Any], self._send("POST", "/replays", json=body))

    # -- sending ---------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """The answer's JSON body; ProblemError for a refusal."""
        attempt, waited = 1, 0.0
        while True:
            response = self._http.request(
                method, API + path, params=params, json=json,
                headers={**self._headers, **(headers or {})},
            )  # fmt: skip
            if response.is_success:
                return response.json() if response.content else None
            wait = self._retry.wait(response, attempt, waited)
            if wait is None:
                raise ProblemError.of(response)
            self._sleep(wait)
            attempt, waited = attempt + 1, waited + wait
