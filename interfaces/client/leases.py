"""The worker's calls (the lease protocol), built once as `Call`s: lease tasks of an
external pool, keep each lease with heartbeats, report the outcome with its token. A 409
answer means the lease is gone (expired, preempted, or the task moved on): the worker
stops and reports nothing more."""

from collections.abc import Collection
from typing import Any

from interfaces.client.calls import Call
from interfaces.client.types import Heartbeat, LeasedTask

ANSWER_S = 10.0
"""How long a long poll's answer may take beyond its wait."""
FAIL_REASON_MAX = 8000
RELEASE_REASON_MAX = 500


def lease(
    pool_id: str,
    worker_id: str,
    max_tasks: int = 1,
    wait_s: float = 0.0,
    types: Collection[str] | None = None,
) -> Call[list[LeasedTask]]:
    """Up to `max_tasks` tasks assigned to the pool (of `types` only, if given) that no
    worker holds, waiting up to `wait_s` for some to arrive."""
    body: dict[str, Any] = {"worker_id": worker_id, "max_tasks": max_tasks, "wait_s": wait_s}
    if types is not None:
        body["types"] = sorted(types)
    return Call(
        "POST", f"/workers/{pool_id}/lease", json=body, result=lambda answer: answer["tasks"],
        timeout_s=wait_s + ANSWER_S,
    )  # fmt: skip


def heartbeat(task_id: str, token: str) -> Call[Heartbeat]:
    """Keep the lease; the answer says whether the task is being cancelled."""
    return Call("POST", f"/tasks/{task_id}/heartbeat", json={"lease": token})


def complete(task_id: str, token: str) -> Call[None]:
    return Call("POST", f"/tasks/{task_id}/complete", json={"lease": token}, result=_nothing)


def fail(task_id: str, token: str, reason: str) -> Call[None]:
    """The attempt failed: the task is retried after its backoff, or dead-lettered.
    `reason` is cut to the FAIL_REASON_MAX characters the server keeps."""
    body = {"lease": token, "reason": _cut(reason, FAIL_REASON_MAX)}
    return Call("POST", f"/tasks/{task_id}/fail", json=body, result=_nothing)


def release(task_id: str, token: str, reason: str) -> Call[None]:
    """Give the task back unfinished (not a failure): it is leased again at once, or
    cancelled if a cancel was requested. `reason` is cut to RELEASE_REASON_MAX
    characters."""
    body = {"lease": token, "reason": _cut(reason, RELEASE_REASON_MAX)}
    return Call("POST", f"/tasks/{task_id}/release", json=body, result=_nothing)


def _nothing(_: object) -> None:
    return None


def _cut(reason: str, limit: int) -> str:
    reason = reason.strip() or "no reason given"
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"
