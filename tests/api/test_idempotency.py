"""Idempotency-Key on command POSTs: a retry gets the original response and writes
nothing; another request under the same key is a 422; keys survive a restart and expire."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from tests.api.conftest import TASK, ClientFactory, head, wait_until
from tests.fakes import FakeClock


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def test_a_retry_gets_the_original_response_and_writes_nothing(idle_client: TestClient) -> None:
    first = idle_client.post("/api/v1/tasks", json=TASK, headers=keyed("order-17"))
    assert first.status_code == 201
    assert "idempotency-replayed" not in first.headers
    written = head(idle_client)
    retry = idle_client.post("/api/v1/tasks", json=TASK, headers=keyed("order-17"))
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["idempotency-replayed"] == "true"
    assert head(idle_client) == written
    assert idle_client.get("/api/v1/tasks").json()["total"] == 1


def test_the_same_key_for_another_request_is_refused(idle_client: TestClient) -> None:
    idle_client.post("/api/v1/tasks", json=TASK, headers=keyed("k-1"))
    written = head(idle_client)
    other_body = idle_client.post("/api/v1/tasks", json={**TASK, "cost": 9}, headers=keyed("k-1"))
    assert other_body.status_code == 422
    assert other_body.headers["content-type"] == "application/problem+json"
    assert "already used for a different request" in other_body.json()["detail"]
    other_endpoint = idle_client.post(
        "/api/v1/algorithms/switch", json={"algorithm": "min_cost"}, headers=keyed("k-1")
    )
    assert other_endpoint.status_code == 422
    assert head(idle_client) == written


def test_a_retried_completion_is_answered_not_refused(client: TestClient) -> None:
    task_id = client.post("/api/v1/tasks", json=TASK).json()["id"]
    url = f"/api/v1/tasks/{task_id}"
    wait_until(lambda: client.get(url).json()["status"] == "processing")
    done = client.post(f"{url}/complete", headers=keyed("finish-1"))
    again = client.post(f"{url}/complete", headers=keyed("finish-1"))
    assert (done.status_code, again.status_code) == (200, 200)
    assert again.json() == done.json()
    assert done.json()["status"] == "completed"
    unkeyed = client.post(f"{url}/complete")
    assert unkeyed.status_code == 409


def test_concurrent_requests_with_one_key_create_one_task(idle_client: TestClient) -> None:
    def post(_: int) -> tuple[int, dict[str, object]]:
        response = idle_client.post("/api/v1/tasks", json=TASK, headers=keyed("burst"))
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(post, range(16)))
    assert {status for status, _ in answers} == {201}
    assert len({body["id"] for _, body in answers}) == 1
    assert idle_client.get("/api/v1/tasks").json()["total"] == 1


def test_keys_survive_a_restart_and_expire(make_client: ClientFactory) -> None:
    clock = FakeClock(datetime.now(UTC))
    client = make_client(clock, scheduler="off", idempotency_ttl_s=2)
    pool = {"name": "p1", "region": "r", "resource_type": "cpu", "cost_per_unit": 1, "capacity": 2}
    first = client.post("/api/v1/workers", json=pool, headers=keyed("pool-1"))
    assert first.status_code == 201
    client.__exit__(None, None, None)

    restarted = make_client(clock, scheduler="off", idempotency_ttl_s=2)
    retry = restarted.post("/api/v1/workers", json=pool, headers=keyed("pool-1"))
    assert (retry.status_code, retry.json()) == (201, first.json())
    clock.advance(2.1)
    expired = restarted.post("/api/v1/workers", json=pool, headers=keyed("pool-1"))
    assert expired.status_code == 409, "past the time to live the key runs the command again"


def test_malformed_keys_are_422_problems(idle_client: TestClient) -> None:
    for key in (b"", b"has space", b"x" * 201, "caf\u00e9".encode()):
        response = idle_client.post("/api/v1/tasks", json=TASK, headers={"Idempotency-Key": key})
        assert response.status_code == 422, key
    assert idle_client.get("/api/v1/tasks").json()["total"] == 0
