"""Explaining decisions through the real app: every decision with its candidates, the
timeline of a task, and everything one request caused found by its correlation id."""

from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import TASK, verified, verified_from_the_start, wait_until


def pools_by_name(client: TestClient) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in client.get("/api/v1/workers").json()["worker_pools"]}


def set_capacity(client: TestClient, name: str, capacity: int) -> None:
    pool_id = pools_by_name(client)[name]["id"]
    response = client.patch(f"/api/v1/workers/{pool_id}", json={"capacity": capacity})
    assert response.status_code == 200


def test_a_deferred_then_assigned_task_explains_both_decisions(client: TestClient) -> None:
    switched = client.post("/api/v1/algorithms/switch", json={"algorithm": "min_cost"})
    assert switched.status_code == 200
    gpu_pools = [name for name in pools_by_name(client) if "-gpu-" in name]
    for name in gpu_pools:
        set_capacity(client, name, 0)
    submitted = client.post(
        "/api/v1/tasks",
        json={**TASK, "region": "eu-west", "resource_type": "gpu"},
        headers={"X-Request-ID": "req-audit-1"},
    )
    task_id = submitted.json()["id"]
    url = f"/api/v1/tasks/{task_id}/decisions"
    wait_until(lambda: client.get(url).json()["decisions"])
    set_capacity(client, "eu-west-gpu-pool", 1)
    decisions = wait_until(lambda: len(d := client.get(url).json()["decisions"]) == 2 and d)

    deferred, assigned = decisions
    assert deferred["outcome"] == "deferred"
    assert deferred["summary"] == "0/8 pools available: 4 at capacity, 4 wrong resource type"
    assert deferred["chosen_pool_id"] is None
    assert deferred["pools_seen"] == 8
    assert deferred["pools_ranked"] == 0
    reasons = {c["name"]: c["filtered_out"] for c in deferred["candidates"]}
    assert reasons["eu-west-gpu-pool"] == "at capacity"
    assert reasons["eu-west-cpu-pool"] == "wrong resource type"

    assert assigned["outcome"] == "assigned"
    assert (assigned["algorithm"], assigned["algorithm_version"]) == ("min_cost", 1)
    assert assigned["chosen_pool_name"] == "eu-west-gpu-pool"
    assert assigned["summary"] == (
        "min_cost v1 chose eu-west-gpu-pool: cheapest (2.1) of 1 in eu-west with free capacity"
    )
    assert assigned["ranked_by"] == ["cost_per_unit", "registration"]
    assert assigned["task"] == {"priority": 5, "region": "eu-west", "resource_type": "gpu"}
    candidates = {c["name"]: c for c in assigned["candidates"]}
    chosen = candidates["eu-west-gpu-pool"]
    assert chosen["chosen"] is True
    assert chosen["rank"] == 1
    assert chosen["rank_key"][0] == 2.1
    assert chosen["filtered_out"] is None
    assert candidates["us-west-gpu-pool"]["filtered_out"] == "at capacity"
    assert candidates["us-west-cpu-pool"]["filtered_out"] == "wrong resource type"
    assert candidates["ap-east-gpu-pool"]["filtered_out"] == "at capacity"
    assert [c["chosen"] for c in assigned["candidates"]].count(True) == 1
    assert deferred["position"] < assigned["position"]

    caused = client.get("/api/v1/events", params={"correlation_id": "req-audit-1"}).json()
    assert [e["type"] for e in caused["events"]] == [
        "TaskQueued",
        "TaskDeferred",
        "WorkerAssigned",
        "PoolSlotClaimed",
    ]
    assert caused["events"][2]["position"] == assigned["position"]


def test_the_timeline_measures_each_state(client: TestClient) -> None:
    task_id = client.post("/api/v1/tasks", json=TASK).json()["id"]
    url = f"/api/v1/tasks/{task_id}/timeline"
    wait_until(lambda: client.get(url).json()["status"] == "processing")
    client.post(f"/api/v1/tasks/{task_id}/complete")

    timeline = client.get(url).json()
    assert timeline["task_id"] == task_id
    assert timeline["status"] == "completed"
    assert [e["type"] for e in timeline["events"]] == [
        "TaskQueued",
        "WorkerAssigned",
        "TaskCompleted",
    ]
    queued, processing, completed = timeline["states"]
    assert [s["state"] for s in timeline["states"]] == ["queued", "processing", "completed"]
    assert queued["left_at"] == processing["entered_at"] == timeline["events"][1]["at"]
    assert processing["left_at"] == completed["entered_at"]
    assert completed["left_at"] is None
    assert completed["seconds"] is None
    assert timeline["queued_seconds"] == queued["seconds"] >= 0
    assert timeline["processing_seconds"] == processing["seconds"] > 0
    assert timeline["total_seconds"] == queued["seconds"] + processing["seconds"]


def test_unknown_tasks_are_404_problems(client: TestClient) -> None:
    for view in ("decisions", "timeline"):
        response = client.get(f"/api/v1/tasks/00000000-0000-4000-8000-000000000000/{view}")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


def test_verify_over_http_recomputes_every_decision(client: TestClient) -> None:
    task_ids = [client.post("/api/v1/tasks", json=TASK).json()["id"] for _ in range(5)]
    for task_id in task_ids:
        wait_until(lambda t=task_id: client.get(f"/api/v1/tasks/{t}").json()["worker_id"])
    report = verified(client)
    assert report["ok"] is True
    assert report["decisions_checked"] == 5
    assert report["events_checked"] == report["head"] == report["chain"]["checked"]
    assert report["verified_to"] == report["head"] == report["log_head"]
    assert report["chain"]["first_broken"] is None
    assert len(report["chain"]["head_hash"]) == 64
    assert (report["mismatches"], report["violations"]) == ([], [])
    full = verified_from_the_start(client)
    assert {k: full[k] for k in ("ok", "decisions_checked", "events_checked")} == {
        "ok": True,
        "decisions_checked": 5,
        "events_checked": report["head"],
    }
    assert full["chain"] == report["chain"]


def test_the_verification_keeps_up_and_one_full_pass_runs_at_a_time(client: TestClient) -> None:
    first = verified(client)
    client.post("/api/v1/tasks", json=TASK)
    later = verified(client)
    assert later["verified_to"] > first["verified_to"]
    assert later["chain"]["checked"] == later["verified_to"]
    started = client.post("/api/v1/audit/verify")
    again = client.post("/api/v1/audit/verify")
    assert again.status_code in (202, 409)
    if again.status_code == 409:
        assert again.headers["content-type"] == "application/problem+json"
        assert again.json()["job_id"] == started.json()["id"]
    missing = client.get("/api/v1/audit/verify/jobs/nope")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_as_of_shows_the_task_pools_and_stats_as_they_were(client: TestClient) -> None:
    task = client.post("/api/v1/tasks", json=TASK).json()
    queued_at = task["position"]
    url = f"/api/v1/tasks/{task['id']}"
    wait_until(lambda: client.get(url).json()["status"] == "processing")
    client.post(f"{url}/complete")

    then = client.get(url, params={"as_of": queued_at}).json()
    assert then["status"] == "queued"
    assert then["position"] == queued_at
    assert client.get(url).json()["status"] == "completed"
    before = client.get(url, params={"as_of": queued_at - 1})
    assert before.status_code == 404

    queued_event = client.get(f"{url}/events").json()["events"][0]
    by_time = client.get(url, params={"as_of": queued_event["metadata"]["recorded_at"]}).json()
    assert by_time["status"] == "queued"

    pools = client.get("/api/v1/workers", params={"as_of": queued_at}).json()["worker_pools"]
    assert sum(pool["current_load"] for pool in pools) == 0
    assert len(pools) == 8
    stats = client.get("/api/v1/system/stats", params={"as_of": queued_at}).json()
    assert (stats["tasks_pending"], stats["tasks_completed"]) == (1, 0)
    assert client.get("/api/v1/system/stats").json()["tasks_completed"] == 1


def test_a_bad_or_future_as_of_is_a_422_problem(client: TestClient) -> None:
    for value in ("yesterday", "99999999", "-3", "\u00b2", "9999-12-31T23:59:59-23:59"):
        response = client.get("/api/v1/system/stats", params={"as_of": value})
        assert response.status_code == 422, value
        assert response.headers["content-type"] == "application/problem+json"
    future = client.get("/api/v1/workers", params={"as_of": "99999999"}).json()
    assert "after the log head" in future["detail"]


def test_a_what_if_replay_compares_side_by_side(client: TestClient) -> None:
    task_ids = [
        client.post("/api/v1/tasks", json={**TASK, "priority": p}).json()["id"] for p in (1, 5, 9)
    ]
    for task_id in task_ids:
        wait_until(lambda t=task_id: client.get(f"/api/v1/tasks/{t}").json()["worker_id"])
        client.post(f"/api/v1/tasks/{task_id}/complete")
    body = {"algorithm": "min_cost"}
    replay = client.post("/api/v1/replays", json=body)
    assert replay.status_code == 200, replay.text
    result = replay.json()
    assert result == client.post("/api/v1/replays", json=body).json()
    assert result["algorithm"] == "min_cost"
    assert result["algorithms_used"] == ["fifo"]
    assert result["tasks"] == 3
    assert result["window"]["from"] == 0
    assert set(result["actual"]) == set(result["what_if"]) >= {"total_cost", "p95_wait_s"}
    assert result["actual"]["total_cost"] == 3 * 1.5 * 0.5  # us-east-cpu-pool, cost 1.5 each


def test_a_bad_replay_request_is_a_422_problem(client: TestClient) -> None:
    for body in (
        {"algorithm": "random"},
        {"algorithm": "fifo", "from": 5, "to": 2},
        {"algorithm": "fifo", "to": "not a time"},
        {"algorithm": "fifo", "to": 10**9},
    ):
        response = client.post("/api/v1/replays", json=body)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == "application/problem+json"
