"""The worker protocol and the lifecycle endpoints through the real app: leasing (with a
long poll), heartbeats, reports fenced by the lease token, cancellation of a held task,
release, drain and resume, who runs a pool, delayed tasks, dead letters and retry, and
the tasks:work scope."""

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from interfaces.http.middleware.auth import digest
from tests.api.conftest import ClientFactory, wait_until

EXTERNAL = {
    "name": "lab-cpu", "region": "lab", "resource_type": "cpu", "cost_per_unit": 1.0,
    "capacity": 2, "execution": "external",
}  # fmt: skip
LAB_TASK = {"type": "query", "priority": 5, "cost": 1.0, "region": "lab", "resource_type": "cpu"}


@pytest.fixture
def lab(make_client: ClientFactory) -> TestClient:
    """Scheduler on, no demo pools, one external pool: tasks wait for a worker."""
    client = make_client(demo_pools=False)
    assert client.post("/api/v1/workers", json=EXTERNAL).status_code == 201
    return client


def pool_id(client: TestClient, name: str = "lab-cpu") -> str:
    pools = client.get("/api/v1/workers").json()["worker_pools"]
    return str(next(p["id"] for p in pools if p["name"] == name))


def assigned_task(client: TestClient, **extra: Any) -> str:
    task_id = str(client.post("/api/v1/tasks", json={**LAB_TASK, **extra}).json()["id"])
    wait_until(lambda: client.get(f"/api/v1/tasks/{task_id}").json()["status"] == "processing")
    return task_id


def lease(
    client: TestClient,
    wait_s: float = 0,
    max_tasks: int = 1,
    types: list[str] | None = None,
    **headers: str,
) -> Any:
    body: dict[str, Any] = {"worker_id": "w-1", "max_tasks": max_tasks, "wait_s": wait_s}
    if types is not None:
        body["types"] = types
    return client.post(f"/api/v1/workers/{pool_id(client)}/lease", json=body, headers=headers)


def test_a_lease_hands_out_an_assigned_task_with_a_token_and_a_deadline(
    lab: TestClient,
) -> None:
    assert lease(lab).json()["tasks"] == [], "nothing assigned yet: an empty answer"
    task_id = assigned_task(lab)
    answer = lease(lab, max_tasks=5).json()
    (leased,) = answer["tasks"]
    assert leased["task"]["id"] == task_id
    assert leased["task"]["lease"]["worker_id"] == "w-1"
    assert leased["lease"]["expires_at"] > datetime.now(UTC).isoformat()
    assert lease(lab).json()["tasks"] == [], "a held task is not handed out twice"
    shown = lab.get(f"/api/v1/tasks/{task_id}").json()
    assert shown["lease"] == {"worker_id": "w-1", "expires_at": leased["lease"]["expires_at"]}
    assert "token" not in json.dumps(shown), "the task view does not show the lease token"


def test_a_lease_for_some_types_leaves_the_others_to_other_workers(lab: TestClient) -> None:
    query = assigned_task(lab)
    order = assigned_task(lab, type="order")
    assert lease(lab, max_tasks=5, types=["simulation"]).json()["tasks"] == []
    leased = lease(lab, max_tasks=5, types=["order", "simulation"]).json()["tasks"]
    assert [item["task"]["id"] for item in leased] == [order]
    assert [item["task"]["id"] for item in lease(lab, max_tasks=5).json()["tasks"]] == [query]
    for wrong in ([], ["email"], "order"):
        refused = lease(lab, types=wrong)
        assert refused.status_code == 422, wrong
        assert refused.headers["content-type"] == "application/problem+json"


def test_a_waiting_lease_returns_as_soon_as_a_task_is_assigned(lab: TestClient) -> None:
    answers: list[Any] = []
    waiting = threading.Thread(target=lambda: answers.append(lease(lab, wait_s=20).json()))
    waiting.start()
    task_id = lab.post("/api/v1/tasks", json=LAB_TASK).json()["id"]
    waiting.join(timeout=20)
    assert not waiting.is_alive()
    assert [item["task"]["id"] for item in answers[0]["tasks"]] == [task_id]


def test_reports_need_the_current_lease(lab: TestClient) -> None:
    task_id = assigned_task(lab)
    unleased = lab.post(f"/api/v1/tasks/{task_id}/complete")
    assert unleased.status_code == 409
    assert unleased.json()["type"].endswith("/LeaseRequired")
    token = lease(lab).json()["tasks"][0]["lease"]["token"]
    forged = lab.post(f"/api/v1/tasks/{task_id}/complete", json={"lease": "forged"})
    assert forged.status_code == 409
    assert forged.json()["type"].endswith("/LeaseNotHeld")
    beat = lab.post(f"/api/v1/tasks/{task_id}/heartbeat", json={"lease": token})
    assert beat.status_code == 200
    assert beat.json()["cancel_requested"] is False
    done = lab.post(f"/api/v1/tasks/{task_id}/complete", json={"lease": token})
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["lease"]) == ("completed", None)
    late = lab.post(f"/api/v1/tasks/{task_id}/heartbeat", json={"lease": token})
    assert late.status_code == 409, "a finished task's lease is gone"


def test_cancelling_a_held_task_reaches_its_worker_through_the_heartbeat(
    lab: TestClient,
) -> None:
    task_id = assigned_task(lab)
    token = lease(lab).json()["tasks"][0]["lease"]["token"]
    assert lab.delete(f"/api/v1/tasks/{task_id}").status_code == 204
    task = lab.get(f"/api/v1/tasks/{task_id}").json()
    assert (task["status"], task["cancel_requested"]) == ("processing", True)
    beat = lab.post(f"/api/v1/tasks/{task_id}/heartbeat", json={"lease": token}).json()
    assert beat["cancel_requested"] is True
    released = lab.post(f"/api/v1/tasks/{task_id}/release", json={"lease": token})
    assert released.json()["status"] == "cancelled"
    assert lab.get(f"/api/v1/workers/{pool_id(lab)}").json()["current_load"] == 0


def test_a_released_task_is_handed_out_again(lab: TestClient) -> None:
    task_id = assigned_task(lab)
    token = lease(lab).json()["tasks"][0]["lease"]["token"]
    released = lab.post(
        f"/api/v1/tasks/{task_id}/release", json={"lease": token, "reason": "shutting down"}
    )
    assert released.json()["status"] == "delayed"
    again = lease(lab, wait_s=10).json()["tasks"]
    assert [(t["task"]["id"], t["task"]["attempt"]) for t in again] == [(task_id, 2)]


def test_leasing_from_a_simulated_or_unknown_pool_is_refused(make_client: ClientFactory) -> None:
    client = make_client(scheduler="off")
    simulated = pool_id(client, "us-east-cpu-pool")
    body = {"worker_id": "w-1"}
    refused = client.post(f"/api/v1/workers/{simulated}/lease", json=body)
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/PoolNotExternal")
    unknown = client.post(f"/api/v1/workers/{'0' * 8}-0000-0000-0000-{'0' * 12}/lease", json=body)
    assert unknown.status_code == 404
    for bad in ({}, {"worker_id": "w 1"}, {"worker_id": "w", "max_tasks": 0},
                {"worker_id": "w", "wait_s": 61}):  # fmt: skip
        assert client.post(f"/api/v1/workers/{simulated}/lease", json=bad).status_code == 422


def test_a_draining_pool_takes_nothing_new_until_resumed(make_client: ClientFactory) -> None:
    client = make_client()
    pool = pool_id(client, "eu-west-gpu-pool")
    drained = client.post(f"/api/v1/workers/{pool}/drain")
    assert drained.json()["draining"] is True
    task = {"type": "simulation", "priority": 5, "cost": 1, "region": "eu-west",
            "resource_type": "gpu"}  # fmt: skip
    task_id = client.post("/api/v1/tasks", json=task).json()["id"]
    placed = wait_until(
        lambda: (t := client.get(f"/api/v1/tasks/{task_id}").json())["status"] == "processing" and t
    )
    assert placed["pool_id"] != pool
    (decision,) = client.get(f"/api/v1/tasks/{task_id}/decisions").json()["decisions"]
    (seen,) = [c for c in decision["candidates"] if c["pool_id"] == pool]
    assert seen["filtered_out"] == "draining"
    assert client.post(f"/api/v1/workers/{pool}/resume").json()["draining"] is False


def test_who_runs_a_pool_changes_only_while_it_is_idle(lab: TestClient) -> None:
    pool = pool_id(lab)
    assert lab.patch(f"/api/v1/workers/{pool}", json={}).status_code == 422
    assigned_task(lab)
    busy = lab.patch(f"/api/v1/workers/{pool}", json={"execution": "simulated"})
    assert busy.status_code == 409
    assert busy.json()["type"].endswith("/PoolBusy")
    changed = lab.patch(f"/api/v1/workers/{pool}", json={"capacity": 5})
    assert (changed.json()["capacity"], changed.json()["execution"]) == (5, "external")


def test_a_delayed_task_waits_for_its_time(lab: TestClient) -> None:
    soon = (datetime.now(UTC) + timedelta(seconds=1)).replace(tzinfo=None).isoformat()
    task = lab.post("/api/v1/tasks", json={**LAB_TASK, "not_before": soon}).json()
    assert (task["status"], task["ready_at"][:19]) == ("delayed", soon[:19])
    wait_until(lambda: lab.get(f"/api/v1/tasks/{task['id']}").json()["status"] == "processing")
    for bad in (
        {"not_before": (datetime.now(UTC) + timedelta(days=400)).isoformat()},
        {"not_before": "9999-12-31T23:59:59-05:00"},
        {"not_before": "soon"},
        {"max_attempts": 0},
        {"retry_backoff_s": 10, "retry_backoff_max_s": 5},
        {"timeout_s": 0},
    ):
        refused = lab.post("/api/v1/tasks", json={**LAB_TASK, **bad})
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"


def test_dead_letters_list_failed_tasks_and_a_retry_sends_one_back(lab: TestClient) -> None:
    task_id = assigned_task(lab, max_attempts=1)
    assert lab.post(f"/api/v1/tasks/{task_id}/retry").status_code == 409
    token = lease(lab).json()["tasks"][0]["lease"]["token"]
    lab.post(f"/api/v1/tasks/{task_id}/fail", json={"lease": token, "reason": "exit status 3"})
    letters = lab.get("/api/v1/dead-letters").json()
    assert [(t["id"], t["error"]) for t in letters["tasks"]] == [(task_id, "exit status 3")]
    assert lab.post(f"/api/v1/tasks/{task_id}/retry").json()["status"] == "delayed"
    wait_until(lambda: lab.get(f"/api/v1/tasks/{task_id}").json()["status"] == "processing")
    assert lab.get("/api/v1/dead-letters").json()["tasks"] == []


def test_the_work_scope_covers_the_worker_protocol_and_nothing_more(
    make_client: ClientFactory,
) -> None:
    keys = [
        {"name": "worker", "sha256": digest("key-worker"), "scopes": ["tasks:work"]},
        {"name": "ops", "sha256": digest("key-ops"), "scopes": ["tasks:read", "tasks:write",
                                                                 "pools:admin"]},
    ]  # fmt: skip
    client = make_client(demo_pools=False, api_keys=json.dumps(keys))
    ops = {"Authorization": "Bearer key-ops"}
    worker = {"Authorization": "Bearer key-worker"}
    assert client.post("/api/v1/workers", json=EXTERNAL, headers=ops).status_code == 201
    pools = client.get("/api/v1/workers", headers=ops).json()["worker_pools"]
    lease_url = f"/api/v1/workers/{pools[0]['id']}/lease"
    task_id = client.post("/api/v1/tasks", json=LAB_TASK, headers=ops).json()["id"]
    assert client.post("/api/v1/tasks", json=LAB_TASK, headers=worker).status_code == 403
    assert client.post(lease_url, json={"worker_id": "w"}, headers=ops).status_code == 403
    leased = wait_until(
        lambda: client.post(lease_url, json={"worker_id": "w"}, headers=worker).json()["tasks"]
    )
    token = leased[0]["lease"]["token"]
    done = client.post(f"/api/v1/tasks/{task_id}/fail", json={"lease": token}, headers=worker)
    assert done.status_code == 200
    failed = client.get(f"/api/v1/tasks/{task_id}/events", headers=ops).json()["events"]
    assert [e["metadata"]["actor"] for e in failed if e["type"] == "TaskFailed"] == ["key:worker"]
