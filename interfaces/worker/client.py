"""The worker's side of the HTTP lease protocol."""

import contextlib
import uuid
from dataclasses import dataclass
from typing import Any

import httpx


class LeaseLost(Exception):
    """The service no longer lets this worker hold the task (409): stop working on it."""


class ServiceError(Exception):
    """Anything else the service answered with, or could not be reached for."""


@dataclass(frozen=True)
class Leased:
    task: dict[str, Any]
    token: str
    expires_at: str
    seconds: float
    """The lease's length, by the service's clock."""

    @property
    def task_id(self) -> str:
        return str(self.task["id"])


@dataclass(frozen=True)
class Beat:
    expires_at: str
    cancel_requested: bool


class WorkerClient:
    def __init__(self, base_url: str, api_key: str | None = None, timeout_s: float = 10.0) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s)

    def close(self) -> None:
        self._http.close()

    def pool_id(self, name_or_id: str) -> str:
        """A pool's id from its id (taken as it is: the lease answers whether the pool is
        external) or its name."""
        with contextlib.suppress(ValueError):
            return str(uuid.UUID(name_or_id))
        pools = self._call("GET", "/api/v1/workers")["worker_pools"]
        for pool in pools:
            if name_or_id in (pool["id"], pool["name"]):
                if pool["execution"] != "external":
                    raise ServiceError(
                        f"worker pool {pool['name']} runs in the simulator; make it external "
                        f'first (PATCH /api/v1/workers/{pool["id"]} {{"execution": "external"}})'
                    )
                return str(pool["id"])
        raise ServiceError(f"no worker pool is named or numbered {name_or_id}")

    def lease(self, pool_id: str, worker_id: str, max_tasks: int, wait_s: float) -> list[Leased]:
        body = {"worker_id": worker_id, "max_tasks": max_tasks, "wait_s": wait_s}
        answer = self._call("POST", f"/api/v1/workers/{pool_id}/lease", body, timeout=wait_s + 10)
        return [
            Leased(
                item["task"],
                item["lease"]["token"],
                item["lease"]["expires_at"],
                item["lease"]["seconds"],
            )
            for item in answer["tasks"]
        ]

    def heartbeat(self, task_id: str, token: str) -> Beat:
        answer = self._call("POST", f"/api/v1/tasks/{task_id}/heartbeat", {"lease": token})
        return Beat(answer["lease_expires_at"], answer["cancel_requested"])

    def complete(self, task_id: str, token: str) -> None:
        self._call("POST", f"/api/v1/tasks/{task_id}/complete", {"lease": token})

    def fail(self, task_id: str, token: str, reason: str) -> None:
        self._call("POST", f"/api/v1/tasks/{task_id}/fail", {"lease": token, "reason": reason})

    def release(self, task_id: str, token: str, reason: str) -> None:
        self._call("POST", f"/api/v1/tasks/{task_id}/release", {"lease": token, "reason": reason})

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Any:
        try:
            response = self._http.request(
                method,
                path,
                json=body,
                headers={"Content-Type": "application/json"},
                timeout=timeout or httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as error:
            raise ServiceError(f"{method} {path}: {error}") from error
        if response.status_code == 409:
            raise LeaseLost(_detail(response))
        if response.status_code >= 300:
            raise ServiceError(f"{method} {path}: {response.status_code} {_detail(response)}")
        return response.json()


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return response.text
