"""Each call of the API as a request to send (`Call`): built once here, sent by the sync
client (`sync.Client`) and the async one (`asynchronous.AsyncClient`) alike."""

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from interfaces.client.types import Pool, Task, TaskPage

R = TypeVar("R")
API = "/api/v1"


def _as_is(body: Any) -> Any:
    return body


@dataclass(frozen=True)
class Call(Generic[R]):
    """A request (its path under /api/v1) and how its answer's JSON body becomes the
    result."""

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    result: Callable[[Any], R] = _as_is
    timeout_s: float | None = None
    """Longer than the client's own (a long poll), if set."""

    def sent(self, headers: Mapping[str, str]) -> dict[str, Any]:
        """The arguments of httpx's `request` for it (under /api/v1, with `headers`). A
        command is sent as JSON even with no body: the server refuses any other (415), so
        that no form another web site posts can drive it."""
        typed = {} if self.method == "GET" else {"Content-Type": "application/json"}
        sent = {
            "method": self.method, "url": API + self.path, "params": self.params,
            "json": self.json, "headers": {**headers, **typed, **self.headers},
        }  # fmt: skip
        if self.timeout_s is not None:
            sent["timeout"] = self.timeout_s
        return sent

    @property
    def repeatable(self) -> bool:
        """Safe to send again when its answer is lost: a read, or a command the server
        answers once per `Idempotency-Key`."""
        return self.method == "GET" or "Idempotency-Key" in self.headers

    def answered(self, body: bytes, parsed: Callable[[], Any]) -> R:
        """Its result from a successful answer's body (`parsed`: the body as JSON)."""
        return self.result(parsed() if body else None)


def submit(
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
) -> Call[Task]:
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
    return Call("POST", "/tasks", json=body, headers={"Idempotency-Key": key})


def get(task_id: str) -> Call[Task]:
    """One task as it is now."""
    return Call("GET", f"/tasks/{task_id}")


def tasks_page(
    page: int,
    page_size: int,
    status: str | None = None,
    type: str | None = None,
    region: str | None = None,
    tenant: str | None = None,
) -> Call[TaskPage]:
    """One page of the tasks that match, newest first (`tasks()` walks every page)."""
    query = {"status": status, "type": type, "region": region, "tenant": tenant}
    params = {name: value for name, value in query.items() if value is not None}
    return Call("GET", "/tasks", params={**params, "page": page, "page_size": page_size})


def cancel(task_id: str, reason: str | None = None) -> Call[Task]:
    """Cancel a task: at once if no worker holds it, else its worker is asked to stop."""
    return Call(
        "POST", f"/tasks/{task_id}/cancel", json={} if reason is None else {"reason": reason}
    )


def retry(task_id: str) -> Call[Task]:
    """A failed task's new round of attempts."""
    return Call("POST", f"/tasks/{task_id}/retry")


def decisions(task_id: str) -> Call[list[dict[str, Any]]]:
    """Every scheduling decision for the task, as the scheduler saw it (each candidate
    pool, the tenant stage)."""
    return Call("GET", f"/tasks/{task_id}/decisions", result=lambda body: body["decisions"])


def timeline(task_id: str) -> Call[dict[str, Any]]:
    """The task's events and the time it spent in each state."""
    return Call("GET", f"/tasks/{task_id}/timeline")


def pools() -> Call[list[Pool]]:
    """Every worker pool, with its load."""
    return Call("GET", "/workers", result=lambda body: body["worker_pools"])


def register_pool(
    name: str,
    region: str,
    resource_type: str,
    cost_per_unit: float,
    capacity: int,
    execution: str = "simulated",
) -> Call[Pool]:
    """A new pool; `execution`: `simulated` (the built-in simulator runs its tasks) or
    `external` (workers lease them)."""
    body = {
        "name": name, "region": region, "resource_type": resource_type,
        "cost_per_unit": cost_per_unit, "capacity": capacity, "execution": execution,
    }  # fmt: skip
    return Call("POST", "/workers", json=body)


def set_capacity(pool_id: str, capacity: int) -> Call[Pool]:
    """How many tasks the pool runs at once from now on."""
    return Call("PATCH", f"/workers/{pool_id}", json={"capacity": capacity})


def drain(pool_id: str) -> Call[Pool]:
    """Stop placing tasks in the pool; its running tasks finish."""
    return Call("POST", f"/workers/{pool_id}/drain")


def resume(pool_id: str) -> Call[Pool]:
    """Place tasks in a drained pool again."""
    return Call("POST", f"/workers/{pool_id}/resume")


def switch_algorithm(algorithm: str) -> Call[str]:
    """The algorithm in use from now on (`fifo`, `priority` or `min_cost`)."""
    return Call(
        "POST", "/algorithms/switch", json={"algorithm": algorithm},
        result=lambda body: str(body["algorithm"]),
    )  # fmt: skip


def stats(tenant: str | None = None) -> Call[dict[str, Any]]:
    """Counts, latency, throughput and utilization (a tenant's task counts, if given)."""
    return Call("GET", "/system/stats", params={} if tenant is None else {"tenant": tenant})


def verify() -> Call[dict[str, Any]]:
    """The continuous verification's latest report (`ok`, `behind`, the findings)."""
    return Call("GET", "/audit/verify")


def start_verification() -> Call[dict[str, Any]]:
    """Start a full verification from position 0 (the job: `id`, `status`, `done`,
    `total`); one runs at a time (409 names the running one)."""
    return Call("POST", "/audit/verify")


def verification(job_id: str) -> Call[dict[str, Any]]:
    """A full verification's progress, and its `report` once `status` is done."""
    return Call("GET", f"/audit/verify/jobs/{job_id}")


def what_if(
    algorithm: str,
    tenants: Mapping[str, Mapping[str, Any]] | None = None,
    start: int | str | None = None,
    to: int | str | None = None,
) -> Call[dict[str, Any]]:
    """The recorded history replayed under `algorithm` (and other tenant settings),
    beside what happened; `start`/`to`: positions or ISO times."""
    body: dict[str, Any] = {"algorithm": algorithm}
    if tenants is not None:
        body["tenants"] = {name: dict(settings) for name, settings in tenants.items()}
    if start is not None:
        body["from"] = str(start)
    if to is not None:
        body["to"] = str(to)
    return Call("POST", "/replays", json=body)
