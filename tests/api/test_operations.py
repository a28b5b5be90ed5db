"""What an operator sees: Prometheus metrics (parsed with prometheus-client's own parser)
that move as tasks flow, readiness that drops while a projection lags or rebuilds and
comes back after, and logs that are JSON lines carrying the request and correlation ids."""

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from infrastructure.projection_admin import ProjectionAdmin
from infrastructure.structured_logging import configure_logging
from tests.api.conftest import TASK, ClientFactory, wait_until


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_the_metrics_parse_and_move_as_tasks_flow(client: TestClient) -> None:
    before = samples(client)
    ids = [client.post("/api/v1/tasks", json=TASK).json()["id"] for _ in range(3)]
    for task_id in ids:
        wait_until(
            lambda t=task_id: client.get(f"/api/v1/tasks/{t}").json()["status"] == "processing"
        )
    client.post(f"/api/v1/tasks/{ids[0]}/complete")
    after = samples(client)

    submitted = {"route": "/api/v1/tasks", "method": "POST", "status": "201"}
    assert (
        value(after, "taskrouterx_http_requests_total", **submitted)
        - value(before, "taskrouterx_http_requests_total", **submitted)
        == 3
    )
    assert value(after, "taskrouterx_http_request_duration_seconds_count",
                 route="/api/v1/tasks", method="POST") >= 3  # fmt: skip
    for kind, count in (("TaskQueued", 3), ("WorkerAssigned", 3), ("TaskCompleted", 1)):
        assert value(after, "taskrouterx_events_appended_total", type=kind) == count
    assert value(after, "taskrouterx_scheduling_decisions_total",
                 algorithm="fifo", outcome="assigned") == 3  # fmt: skip
    assert value(after, "taskrouterx_scheduling_decision_duration_seconds_count",
                 algorithm="fifo") >= 3  # fmt: skip
    assert value(after, "taskrouterx_group_commit_batch_size_count") > 0
    commits = value(after, "taskrouterx_event_store_commit_duration_seconds_count")
    assert commits > 0
    assert value(after, "taskrouterx_event_store_write_lock_held_seconds_count") == commits
    assert (
        0
        < value(after, "taskrouterx_event_store_write_lock_held_seconds_sum")
        <= value(after, "taskrouterx_event_store_commit_duration_seconds_sum")
    ), "the lock is held for part of each transaction"
    assert value(after, "taskrouterx_tasks", status="processing") == 2
    assert value(after, "taskrouterx_tasks", status="completed") == 1
    assert value(after, "taskrouterx_queue_length") == 0
    pool = {"pool": "us-east-cpu-pool", "region": "us-east", "resource_type": "cpu",
            "execution": "simulated"}  # fmt: skip
    assert value(after, "taskrouterx_pool_load", **pool) == 2
    assert value(after, "taskrouterx_pool_capacity", **pool) == 10
    assert value(after, "taskrouterx_pool_utilization_ratio", **pool) == 0.2
    assert value(after, "taskrouterx_projection_lag_events", projection="tasks") == 0
    unknown = client.get("/no/such/page")
    assert unknown.status_code == 404
    assert value(samples(client), "taskrouterx_http_requests_total", route="unmatched",
                 method="GET", status="404") == 1  # fmt: skip


def test_readiness_drops_while_a_projection_lags_and_returns_after(
    make_client: ClientFactory,
) -> None:
    client = make_client(ready_max_lag=5)
    for _ in range(10):
        client.post("/api/v1/tasks", json=TASK)
    assert client.get("/api/v1/ready").status_code == 200
    service = client.app.state.service  # type: ignore[attr-defined]
    with service.engines.write.begin() as connection:
        connection.execute(text("UPDATE checkpoints SET position = 0 WHERE name = 'stats'"))
    lagging = client.get("/api/v1/ready")
    assert lagging.status_code == 503
    assert lagging.headers["content-type"] == "application/problem+json"
    body = lagging.json()
    assert body["detail"] == "not ready: projections"
    assert body["checks"]["projections"]["lags"]["stats"] > 5
    assert body["checks"]["database"]["ok"] is True
    assert client.post("/api/v1/projections/stats/rebuild").status_code == 202
    wait_until(lambda: client.get("/api/v1/ready").status_code == 200)


@pytest.fixture
def held_rebuild(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Rebuild batches wait until the test lets them run."""
    release = threading.Event()
    original = ProjectionAdmin._on_writer

    def held(self: ProjectionAdmin, job: Any) -> Any:
        release.wait(10)
        return original(self, job)

    monkeypatch.setattr(ProjectionAdmin, "_on_writer", held)
    yield release
    release.set()


def test_readiness_drops_while_a_projection_rebuilds(
    client: TestClient, held_rebuild: threading.Event
) -> None:
    assert client.post("/api/v1/projections/tasks/rebuild").status_code == 202
    rebuilding = client.get("/api/v1/ready")
    assert rebuilding.status_code == 503
    assert rebuilding.json()["checks"]["projections"]["rebuilding"] == ["tasks"]
    held_rebuild.set()
    wait_until(lambda: client.get("/api/v1/ready").status_code == 200)


def test_log_lines_are_json_with_the_request_and_correlation_ids(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("json", "INFO")
    try:
        headers = {"X-Request-ID": "req-from-client-42", "Authorization": "Bearer secret-key"}
        created = client.post("/api/v1/tasks", json=TASK, headers=headers)
        assert created.headers["x-request-id"] == "req-from-client-42"
        task_id = created.json()["id"]
        wait_until(lambda: client.get(f"/api/v1/tasks/{task_id}").json()["status"] == "processing")
        # the scheduler logs its decision once its command returns, which may be a moment
        # after the projection shows the assignment
        captured: list[str] = []
        wait_until(
            lambda: (
                captured.append(capsys.readouterr().err)
                or '"scheduler.decision"' in "".join(captured)
            )
        )
    finally:
        structlog.reset_defaults()
    err = "".join(captured) + capsys.readouterr().err
    lines = [json.loads(line) for line in err.splitlines() if line]
    (request,) = [
        line for line in lines
        if line["event"] == "http.request" and line.get("request_id") == "req-from-client-42"
    ]  # fmt: skip
    assert (request["method"], request["route"], request["status"]) == (
        "POST", "/api/v1/tasks", 201,
    )  # fmt: skip
    assert request["duration_ms"] > 0
    assert request["correlation_id"] == "req-from-client-42"
    (decision,) = [line for line in lines if line["event"] == "scheduler.decision"]
    assert decision["correlation_id"] == "req-from-client-42"
    assert (decision["task_id"], decision["outcome"]) == (task_id, "assigned")
    assert decision["summary"].startswith("fifo v1 chose ")
    everything = "\n".join(json.dumps(line) for line in lines)
    assert "secret-key" not in everything, "no credential in any log line"
    assert '"cost"' not in everything, "no payload in any log line"
