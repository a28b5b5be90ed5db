"""Workers, algorithms, stats, health, the event log, simulation, projections, CORS."""

import itertools
import json
import re
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import TASK, ClientFactory, head, wait_until

DEMO_NAMES = [
    f"{region}-{kind}-pool"
    for region in ("us-east", "us-west", "eu-west", "ap-east")
    for kind in ("cpu", "gpu")
]


def test_demo_pools_are_registered_as_events(client: TestClient) -> None:
    pools = client.get("/api/v1/workers").json()["worker_pools"]
    assert [p["name"] for p in pools] == DEMO_NAMES
    us_east_cpu = pools[0]
    assert (us_east_cpu["cost_per_unit"], us_east_cpu["capacity"], us_east_cpu["current_load"]) == (
        0.5,
        10,
        0,
    )
    assert [p["capacity"] for p in pools] == [10, 5, 8, 4, 10, 5, 6, 3]
    registered = client.get("/api/v1/events", params={"type": "WorkerPoolRegistered"}).json()[
        "events"
    ]
    assert len(registered) == 8


def test_no_demo_pools(make_client: ClientFactory) -> None:
    client = make_client(demo_pools=False)
    assert client.get("/api/v1/workers").json() == {"worker_pools": []}


def test_register_and_resize_pools(client: TestClient) -> None:
    body = {
        "name": "sa-east-gpu-pool",
        "region": "sa-east",
        "resource_type": "gpu",
        "cost_per_unit": 1.9,
        "capacity": 2,
    }
    created = client.post("/api/v1/workers", json=body)
    assert created.status_code == 201
    pool = created.json()
    assert (pool["name"], pool["current_load"], pool["utilization"]) == ("sa-east-gpu-pool", 0, 0.0)
    duplicate = client.post("/api/v1/workers", json=body)
    assert duplicate.status_code == 409
    assert "already registered" in duplicate.json()["detail"]

    resized = client.patch(f"/api/v1/workers/{pool['id']}", json={"capacity": 7})
    assert resized.json()["capacity"] == 7
    assert client.get(f"/api/v1/workers/{pool['id']}").json()["capacity"] == 7
    assert client.patch(f"/api/v1/workers/{pool['id']}", json={"capacity": -1}).status_code == 422
    assert (
        client.patch(
            "/api/v1/workers/00000000-0000-4000-8000-000000000000", json={"capacity": 1}
        ).status_code
        == 404
    )


def test_capacity_cannot_drop_below_load(client: TestClient) -> None:
    task = client.post(
        "/api/v1/tasks", json={**TASK, "region": "ap-east", "resource_type": "gpu"}
    ).json()
    wait_until(lambda: client.get(f"/api/v1/tasks/{task['id']}").json()["status"] == "processing")
    pool_id = client.get(f"/api/v1/tasks/{task['id']}").json()["pool_id"]
    response = client.patch(f"/api/v1/workers/{pool_id}", json={"capacity": 0})
    assert response.status_code == 409
    assert "cannot drop to 0" in response.json()["detail"]


def test_switch_algorithm(client: TestClient) -> None:
    assert client.get("/api/v1/algorithms").json() == {
        "active": "fifo",
        "available": ["fifo", "priority", "min_cost"],
    }
    assert client.post("/api/v1/algorithms/switch", json={"algorithm": "min_cost"}).json() == {
        "status": "success",
        "algorithm": "min_cost",
    }
    assert client.get("/api/v1/algorithms").json()["active"] == "min_cost"
    assert client.post("/api/v1/algorithms/switch", json={"algorithm": "random"}).status_code == 422

    task = client.post("/api/v1/tasks", json={**TASK, "region": "mars"}).json()
    placed = wait_until(
        lambda: (t := client.get(f"/api/v1/tasks/{task['id']}").json())["worker_id"] and t
    )
    assert placed["algorithm_used"] == "min_cost"
    assert placed["worker_id"] == "us-east-cpu-pool"


def test_deferred_task_records_why_and_waits(client: TestClient) -> None:
    for pool in client.get("/api/v1/workers").json()["worker_pools"]:
        if pool["resource_type"] == "gpu":
            client.patch(f"/api/v1/workers/{pool['id']}", json={"capacity": 0})
    task = client.post("/api/v1/tasks", json={**TASK, "resource_type": "gpu"}).json()
    waiting = wait_until(
        lambda: (t := client.get(f"/api/v1/tasks/{task['id']}").json())["deferral_reason"] and t
    )
    assert waiting["status"] == "queued"
    assert waiting["deferral_reason"] == "0/8 pools available: 4 at capacity, 4 wrong resource type"
    gpu = next(
        p
        for p in client.get("/api/v1/workers").json()["worker_pools"]
        if p["name"] == "eu-west-gpu-pool"
    )
    client.patch(f"/api/v1/workers/{gpu['id']}", json={"capacity": 1})
    placed = wait_until(
        lambda: (
            (t := client.get(f"/api/v1/tasks/{task['id']}").json())["status"] == "processing" and t
        )
    )
    assert placed["worker_id"] == "eu-west-gpu-pool"
    types = [e["type"] for e in client.get(f"/api/v1/tasks/{task['id']}/events").json()["events"]]
    assert types == ["TaskQueued", "TaskDeferred", "WorkerAssigned"]


def test_stats_and_health(client: TestClient) -> None:
    once = {**TASK, "max_attempts": 1}  # a failure is final: the task has finished
    ids = [client.post("/api/v1/tasks", json=once).json()["id"] for _ in range(3)]
    for task_id in ids:
        wait_until(
            lambda task_id=task_id: (
                client.get(f"/api/v1/tasks/{task_id}").json()["status"] == "processing"
            )
        )
    client.post(f"/api/v1/tasks/{ids[0]}/complete")
    client.post(f"/api/v1/tasks/{ids[1]}/fail")
    stats = client.get("/api/v1/system/stats").json()
    assert stats["tasks_completed"] == 1
    assert stats["tasks_failed"] == 1
    assert stats["tasks_processed"] == 2
    assert stats["tasks_processing"] == 1
    assert stats["tasks_pending"] == stats["queue_size"] == 0
    assert stats["average_latency"] > 0
    assert stats["throughput"] == 2 / 60
    assert stats["worker_utilization"]["us-east-cpu-pool"] == 10.0
    assert stats["scheduler_stats"]["tasks_assigned"] == 3
    assert stats["scheduler_stats"]["assigned_by_algorithm"]["fifo"] == 3
    assert stats["scheduler_stats"]["runtime"]["status"] == "running"

    health = client.get("/api/v1/health")
    assert health.status_code == 200
    assert health.json()["status"] == "healthy"
    assert health.json()["database"] == "connected"


def test_event_log_pages_and_logs(client: TestClient) -> None:
    task = client.post("/api/v1/tasks", json=TASK).json()
    wait_until(lambda: client.get(f"/api/v1/tasks/{task['id']}").json()["status"] == "processing")
    first = client.get("/api/v1/events", params={"limit": 5}).json()
    assert [e["position"] for e in first["events"]] == [1, 2, 3, 4, 5]
    assert first["next_after"] == 5
    rest = client.get("/api/v1/events", params={"after": first["next_after"], "limit": 1000}).json()
    assert rest["events"][0]["position"] == 6
    assert rest["events"][-1]["position"] == rest["head"] == head(client)
    streams = client.get("/api/v1/events", params={"stream": f"task-{task['id']}"}).json()
    assert [e["version"] for e in streams["events"]] == [1, 2]
    assert streams["next_after"] == streams["head"], "a partial page has scanned to the head"

    logs = client.get("/api/v1/logs", params={"task_id": task["id"]}).json()
    assert logs["total"] == 2
    assert [entry["event_type"] for entry in logs["logs"]] == ["WorkerAssigned", "TaskQueued"]
    assert logs["logs"][0]["task_id"] == task["id"]
    by_type = client.get(
        "/api/v1/logs", params={"event_type": "WorkerPoolRegistered", "page_size": 3}
    ).json()
    assert by_type["total"] == 8
    assert len(by_type["logs"]) == 3
    assert client.get("/api/v1/logs").json()["total"] == head(client)


def test_simulate_generates_traffic(make_client: ClientFactory) -> None:
    client = make_client(scheduler="off")
    response = client.post(
        "/api/v1/simulate",
        json={
            "task_count": 25,
            "distribution": "burst",
            "region_bias": "eu-west",
            "priority_range": [3, 6],
            "cost_range": [1, 2],
        },
    )
    assert response.status_code == 202
    run = response.json()
    assert (run["task_count"], run["status"]) == (25, "running")
    done = wait_until(
        lambda: (
            (r := client.get(f"/api/v1/simulate/{run['id']}").json())["status"] == "completed" and r
        )
    )
    assert done["tasks_created"] == 25
    tasks = client.get("/api/v1/tasks", params={"page_size": 100}).json()
    assert tasks["total"] == 25
    assert all(3 <= t["priority"] <= 6 and 1 <= t["cost"] <= 2 for t in tasks["tasks"])
    assert sum(t["region"] == "eu-west" for t in tasks["tasks"]) >= 10
    assert (
        client.post(
            "/api/v1/simulate", json={"task_count": 5, "priority_range": [6, 3]}
        ).status_code
        == 422
    )
    assert client.get("/api/v1/simulate/00000000-0000-4000-8000-000000000000").status_code == 404


def test_rebuild_a_projection_over_http(client: TestClient) -> None:
    ids = [client.post("/api/v1/tasks", json=TASK).json()["id"] for _ in range(5)]
    wait_until(
        lambda: all(client.get(f"/api/v1/tasks/{i}").json()["status"] == "processing" for i in ids)
    )
    client.post(f"/api/v1/tasks/{ids[0]}/complete")
    before = client.get("/api/v1/tasks", params={"page_size": 100}).json()
    stats_before = client.get("/api/v1/system/stats").json()
    response = client.post("/api/v1/projections/tasks/rebuild")
    assert response.status_code == 202
    assert response.json()["status"] == "running"

    def finished() -> dict | None:  # type: ignore[type-arg]
        status = {p["name"]: p for p in client.get("/api/v1/projections").json()["projections"]}
        job = status["tasks"]["rebuild"]
        return status["tasks"] if job and job["status"] == "completed" else None

    status = wait_until(finished)
    assert status["rebuild"]["events_applied"] == status["head"]
    assert status["lag"] == 0
    assert client.get("/api/v1/tasks", params={"page_size": 100}).json() == before
    stats_after = client.get("/api/v1/system/stats").json()
    for counter in ("tasks_completed", "tasks_processing", "tasks_pending", "tasks_processed"):
        assert stats_after[counter] == stats_before[counter]
    assert client.post("/api/v1/projections/nope/rebuild").status_code == 404


def test_commands_answer_from_the_log_while_a_projection_is_behind(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    """Right after a rebuild starts the read model is empty; a command's answer must still
    show its effect, never a 404 for a write that happened."""
    client = make_client(scheduler="off")
    task = client.post("/api/v1/tasks", json=TASK).json()
    pool = client.get("/api/v1/workers").json()["worker_pools"][0]
    with sqlite3.connect(tmp_path / "taskrouterx.db") as db:
        db.execute("DELETE FROM tasks")
        db.execute("DELETE FROM pool_load")
        db.execute("UPDATE checkpoints SET position = 0 WHERE name IN ('tasks', 'pool_load')")
    cancelled = client.post(f"/api/v1/tasks/{task['id']}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert client.get(f"/api/v1/tasks/{task['id']}").json()["status"] == "cancelled"
    resized = client.patch(f"/api/v1/workers/{pool['id']}", json={"capacity": 3})
    assert resized.status_code == 200
    assert resized.json()["capacity"] == 3
    submitted = client.post("/api/v1/tasks", json=TASK)
    assert submitted.status_code == 201
    assert submitted.json()["status"] == "queued"


def test_at_most_four_simulations_run_at_once(make_client: ClientFactory) -> None:
    client = make_client(scheduler="off")
    slow = {"task_count": 10_000, "distribution": "random"}
    for _ in range(4):
        assert client.post("/api/v1/simulate", json=slow).status_code == 202
    refused = client.post("/api/v1/simulate", json=slow)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == "5"


def test_cors(client: TestClient) -> None:
    allowed = client.options(
        "/api/v1/tasks",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"},
    )
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
    denied = client.options(
        "/api/v1/tasks",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in denied.headers


def test_openapi_documents_the_api(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in [
        "/api/v1/tasks",
        "/api/v1/tasks/{task_id}",
        "/api/v1/workers",
        "/api/v1/algorithms/switch",
        "/api/v1/system/stats",
        "/api/v1/health",
        "/api/v1/simulate",
        "/api/v1/logs",
        "/api/v1/events",
        "/api/v1/tasks/{task_id}/events",
        "/api/v1/projections/{name}/rebuild",
    ]:
        assert path in paths


def test_security_headers_on_the_api_and_the_docs(client: TestClient) -> None:
    for path in ("/api/v1/tasks", "/api/v1/tasks/not-a-uuid", "/docs"):
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert (
        client.get("/api/v1/tasks")
        .headers["content-security-policy"]
        .startswith("default-src 'none'")
    )


def test_the_dashboard_is_served_at_the_root_with_its_own_content_policy(
    client: TestClient,
) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/dashboard/js/main.js">' in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    module = client.get("/dashboard/js/main.js")
    assert module.status_code == 200
    assert module.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert module.headers["cache-control"] == "no-cache"
    assert module.headers["content-security-policy"] == policy
    assert client.get("/dashboard/css/dashboard.css").status_code == 200
    assert client.get("/dashboard/nothing.js").status_code == 404
    assert client.get("/dashboard/%2e%2e/site.py").status_code == 404
    for where in ("/dashboard", "/dashboard/"):  # where a user may look for it
        moved = client.get(where, follow_redirects=False)
        assert moved.status_code == 308, where
        assert moved.headers["location"] == "/"
        assert client.get(where).text == page.text


def test_the_dashboard_page_carries_the_choices_the_api_accepts_and_lists_its_modules(
    client: TestClient,
) -> None:
    page = client.get("/")
    found = re.search(r'<script type="application/json" id="choices">(.*?)</script>', page.text)
    assert found, "the choices are written into the page"
    choices = json.loads(found.group(1))
    spec = client.get("/openapi.json").json()
    enums = {name: schema.get("enum") for name, schema in spec["components"]["schemas"].items()}
    assert choices["algorithms"] == enums["Algorithm"] == ["fifo", "priority", "min_cost"]
    assert choices["distributions"] == enums["Distribution"]
    assert choices["taskTypes"] == enums["TaskType"]
    assert choices["resourceTypes"] == enums["ResourceType"]
    assert choices["statuses"] == enums["TaskStatus"]
    preloads = re.findall(r'<link rel="modulepreload" href="([^"]+)">', page.text)
    assert "/dashboard/js/main.js" in preloads
    assert "/dashboard/js/panels/tasks.js" in preloads
    for module in preloads:
        assert client.get(module).status_code == 200, module
    again = client.get("/", headers={"If-None-Match": page.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["cache-control"] == "no-cache"


def test_series_shows_throughput_and_latency_per_step_and_survives_a_rebuild(
    client: TestClient,
) -> None:
    ids = [client.post("/api/v1/tasks", json={**TASK, "max_attempts": 1}).json()["id"]
           for _ in range(3)]  # fmt: skip
    wait_until(lambda: all(client.get(f"/api/v1/tasks/{i}").json()["status"] == "processing"
                           for i in ids))  # fmt: skip
    for task_id in ids[:2]:
        assert client.post(f"/api/v1/tasks/{task_id}/complete").status_code == 200
    assert client.post(f"/api/v1/tasks/{ids[2]}/fail", json={"reason": "no"}).status_code == 200
    done = [client.get(f"/api/v1/tasks/{i}").json() for i in ids[:2]]
    latencies = [
        (datetime.fromisoformat(t["completed_at"]) - datetime.fromisoformat(t["enqueued_at"]))
        / timedelta(seconds=1)
        for t in done
    ]

    service = client.app.state.service  # type: ignore[attr-defined]
    now = service.clock.now()

    def points() -> list[dict[str, Any]]:
        return list(service.read_model.series(now, 55, 10))

    wait_until(lambda: sum(p["finished"] for p in points()) == 3)
    series = points()
    assert len(series) == 6
    busy = [p for p in series if p["completed"]]
    assert sum(p["completed"] for p in busy) == 2
    weighted = sum(p["mean_latency_s"] * p["completed"] for p in busy) / 2
    assert weighted == pytest.approx(sum(latencies) / 2, abs=1e-5)
    assert all(p["mean_latency_s"] is None for p in series if not p["completed"])
    assert all(p["throughput"] == p["finished"] / p["seconds"] for p in series)
    starts = [datetime.fromisoformat(p["at"]) for p in series]
    assert all(b - a == timedelta(seconds=10) for a, b in itertools.pairwise(starts))

    response = client.get("/api/v1/system/series", params={"window_s": 55, "step_s": 10})
    assert response.status_code == 200
    body = response.json()
    assert (body["window_s"], body["step_s"], len(body["points"])) == (60, 10, 6)
    assert all(datetime.fromisoformat(p["at"]).timestamp() % 10 == 0 for p in body["points"])
    assert sum(p["finished"] for p in body["points"]) == 3

    assert client.post("/api/v1/projections/stats/rebuild").status_code == 202
    wait_until(lambda: [p["rebuild"]["status"] for p in client.get("/api/v1/projections").json()
                        ["projections"] if p["name"] == "stats"] == ["completed"])  # fmt: skip
    assert points() == series, "the rebuilt projection draws the same chart"


def test_series_refuses_more_than_a_thousand_steps(client: TestClient) -> None:
    response = client.get("/api/v1/system/series", params={"window_s": 86_400, "step_s": 1})
    assert response.status_code == 422
    assert "at most 1000 steps" in response.json()["detail"]


def test_the_openapi_document_names_every_enumerated_fields_values(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/api/v1/tasks"]["post"]["requestBody"]["content"]["application/json"]
    task = body["schema"]["properties"]
    assert task["type"]["description"] == "one of `order`, `simulation`, `query`"
    assert "`cpu`, `gpu`" in task["resource_type"]["description"]
    assert "`us-east`" in task["region"]["description"]
    switch = spec["components"]["schemas"]["AlgorithmSwitch"]["properties"]
    assert switch["algorithm"]["description"] == "one of `fifo`, `priority`, `min_cost`"
    listing = {p["name"]: p for p in spec["paths"]["/api/v1/tasks"]["get"]["parameters"]}
    assert "`cancelled`" in listing["status"]["description"]
