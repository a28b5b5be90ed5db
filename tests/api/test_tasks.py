"""Task endpoints through the real app."""

from fastapi.testclient import TestClient

from tests.api.conftest import TASK, head, wait_until


def test_submit_returns_the_task_and_a_get_sees_it_at_once(idle_client: TestClient) -> None:
    response = idle_client.post(
        "/api/v1/tasks", json={**TASK, "metadata": {"customer": "acme"}, "resource_type": "gpu"}
    )
    assert response.status_code == 201
    task = response.json()
    assert task["status"] == "queued"
    assert task["task_metadata"] == {"customer": "acme"}
    assert task["resource_type"] == "gpu"
    assert task["position"] == head(idle_client)
    assert set(task) >= {
        "id",
        "type",
        "priority",
        "cost",
        "region",
        "status",
        "enqueued_at",
        "started_at",
        "completed_at",
        "worker_id",
        "algorithm_used",
        "task_metadata",
        "pool_id",
        "position",
    }
    assert idle_client.get(f"/api/v1/tasks/{task['id']}").json() == task


def test_scheduler_places_a_task_and_records_the_decision(client: TestClient) -> None:
    task = client.post("/api/v1/tasks", json={**TASK, "region": "eu-west"}).json()
    placed = wait_until(
        lambda: (
            (t := client.get(f"/api/v1/tasks/{task['id']}").json())["status"] == "processing" and t
        )
    )
    assert placed["worker_id"] == "eu-west-cpu-pool"
    assert placed["algorithm_used"] == "fifo"
    assert (
        placed["decision_summary"]
        == "fifo v1 chose eu-west-cpu-pool: first registered of 2 in eu-west with free capacity"
    )
    history = client.get(f"/api/v1/tasks/{task['id']}/events").json()["events"]
    assert [e["type"] for e in history] == ["TaskQueued", "WorkerAssigned"]
    assert history[1]["schema_version"] == 4
    record = history[1]["payload"]["decision"]
    assert record["seen"] == history[0]["position"]
    assert record["pools"] == 8
    assert len(record["ranked"]) == 2, "the chosen pool and the one runner-up in eu-west"
    assert dict(record["filtered"]) == {"other region": 6}
    explained = client.get(f"/api/v1/tasks/{task['id']}/decisions").json()["decisions"][0]
    assert explained["chosen_pool_id"] == placed["pool_id"]
    assert len(explained["candidates"]) == explained["pools_seen"] == 8
    assert explained["rebuilt_from"]["seen_position"] == record["seen"]
    assert explained["rebuilt_from"]["digest"] == record["digest"]

    done = client.post(f"/api/v1/tasks/{task['id']}/complete")
    assert done.status_code == 200
    assert done.json()["status"] == "completed"
    assert done.json()["completed_at"] is not None
    pools = {p["name"]: p for p in client.get("/api/v1/workers").json()["worker_pools"]}
    assert pools["eu-west-cpu-pool"]["current_load"] == 0


def test_a_failed_attempt_is_retried_and_a_last_one_fails_the_task(client: TestClient) -> None:
    task = client.post("/api/v1/tasks", json={**TASK, "retry_backoff_s": 60}).json()
    wait_until(lambda: client.get(f"/api/v1/tasks/{task['id']}").json()["status"] == "processing")
    failed = client.post(f"/api/v1/tasks/{task['id']}/fail", json={"reason": "disk full"}).json()
    assert (failed["status"], failed["error"], failed["attempt"]) == ("delayed", "disk full", 1)
    assert failed["ready_at"] > failed["started_at"]

    last = client.post("/api/v1/tasks", json={**TASK, "max_attempts": 1}).json()
    wait_until(lambda: client.get(f"/api/v1/tasks/{last['id']}").json()["status"] == "processing")
    failed = client.post(f"/api/v1/tasks/{last['id']}/fail", json={"reason": "disk full"}).json()
    assert (failed["status"], failed["error"]) == ("failed", "disk full")
    assert failed["completed_at"] is not None


def test_cancel_only_while_unfinished(idle_client: TestClient) -> None:
    task = idle_client.post("/api/v1/tasks", json=TASK).json()
    assert idle_client.delete(f"/api/v1/tasks/{task['id']}").status_code == 204
    assert idle_client.get(f"/api/v1/tasks/{task['id']}").json()["status"] == "cancelled"
    again = idle_client.delete(f"/api/v1/tasks/{task['id']}")
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["detail"].startswith("only an unfinished task can be cancelled")

    other = idle_client.post("/api/v1/tasks", json=TASK).json()
    cancelled = idle_client.post(
        f"/api/v1/tasks/{other['id']}/cancel", json={"reason": "duplicate"}
    )
    assert cancelled.json()["status"] == "cancelled"
    assert idle_client.post(f"/api/v1/tasks/{other['id']}/complete").status_code == 409


def test_complete_a_queued_task_is_a_conflict(idle_client: TestClient) -> None:
    task = idle_client.post("/api/v1/tasks", json=TASK).json()
    response = idle_client.post(f"/api/v1/tasks/{task['id']}/complete")
    assert response.status_code == 409
    assert "only a processing task can be completed" in response.json()["detail"]


def test_list_filters_pages_and_totals(idle_client: TestClient) -> None:
    created = []
    for index in range(7):
        body = {
            **TASK,
            "type": "query" if index % 2 else "order",
            "region": "eu-west" if index < 3 else "us-east",
        }
        created.append(idle_client.post("/api/v1/tasks", json=body).json()["id"])
    idle_client.delete(f"/api/v1/tasks/{created[0]}")

    page = idle_client.get("/api/v1/tasks", params={"page_size": 3}).json()
    assert page["total"] == 7
    assert [t["id"] for t in page["tasks"]] == created[::-1][:3]
    assert (
        idle_client.get("/api/v1/tasks", params={"page": 3, "page_size": 3}).json()["tasks"][0][
            "id"
        ]
        == created[0]
    )

    queued = idle_client.get("/api/v1/tasks", params={"status": "queued"}).json()
    assert queued["total"] == 6
    mixed = idle_client.get("/api/v1/tasks", params={"type": "order", "region": "eu-west"}).json()
    assert {t["id"] for t in mixed["tasks"]} == {created[0], created[2]}
    assert mixed["total"] == 2
    assert (
        idle_client.get("/api/v1/tasks", params={"status": "cancelled", "type": "query"}).json()[
            "total"
        ]
        == 0
    )


def test_unknown_and_malformed_ids(client: TestClient) -> None:
    missing = client.get("/api/v1/tasks/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["title"] == "Not Found"
    assert (
        client.get("/api/v1/tasks/00000000-0000-4000-8000-000000000000/events").status_code == 404
    )
    assert client.delete("/api/v1/tasks/00000000-0000-4000-8000-000000000000").status_code == 404
    assert client.get("/api/v1/tasks/not-a-uuid").status_code == 422


def test_request_id_becomes_the_correlation_id(idle_client: TestClient) -> None:
    response = idle_client.post("/api/v1/tasks", json=TASK, headers={"X-Request-ID": "req-abc-123"})
    assert response.headers["x-request-id"] == "req-abc-123"
    events = idle_client.get(f"/api/v1/tasks/{response.json()['id']}/events").json()["events"]
    assert events[0]["metadata"]["correlation_id"] == "req-abc-123"
    assert events[0]["metadata"]["actor"] == "api"
    generated = idle_client.get("/api/v1/health").headers["x-request-id"]
    assert len(generated) == 36
