"""Rows damaged in storage (by hand, a bad restore, a disk): verification reports each
with its position and reads on; a task's views answer one problem of type
corrupt-history naming the position, never a stack trace; the event log reads past it."""

import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import TASK, ClientFactory, verified_from_the_start

DAMAGE = {
    "time": ("recorded_at", "'yesterday'", "is not a time"),
    "not json": ("payload", "'{not json'", "not JSON"),
    "missing fields": ("payload", "'{}'", "lacks the field"),
}


def damaged(make_client: ClientFactory, tmp_path: Path, column: str, value: str) -> tuple[TestClient, str, int]:  # fmt: skip
    client = make_client(scheduler="off")
    task = client.post("/api/v1/tasks", json=TASK).json()["id"]
    client.post("/api/v1/tasks", json=TASK)
    position = client.get(f"/api/v1/tasks/{task}/events").json()["events"][0]["position"]
    with sqlite3.connect(tmp_path / "taskrouterx.db") as db:
        db.execute(f"UPDATE events SET {column} = {value} WHERE position = ?", (position,))
    return client, task, position


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_verify_names_the_damaged_row_and_reads_on(
    make_client: ClientFactory, tmp_path: Path, kind: str
) -> None:
    column, value, reason = DAMAGE[kind]
    client, _, position = damaged(make_client, tmp_path, column, value)
    body = verified_from_the_start(client)
    assert body["ok"] is False
    assert body["events_checked"] == body["head"], "it went on to the end"
    assert body["corrupt_count"] == 1
    (finding,) = body["corrupt"]
    assert finding["position"] == position
    assert reason in finding["detail"]


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_a_damaged_task_answers_corrupt_history_naming_the_position(
    make_client: ClientFactory, tmp_path: Path, kind: str
) -> None:
    column, value, _ = DAMAGE[kind]
    client, task, position = damaged(make_client, tmp_path, column, value)
    for path in (f"/api/v1/tasks/{task}/timeline", f"/api/v1/tasks/{task}?as_of={position}"):
        response = client.get(path)
        assert response.status_code == 500, path
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"].endswith("/corrupt-history")
        assert problem["position"] == position
        assert f"position {position}" in problem["detail"]
        assert "Traceback" not in response.text
    assert client.get("/api/v1/health").status_code == 200


def test_the_event_log_and_the_other_tasks_read_past_a_damaged_row(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    client, _, position = damaged(make_client, tmp_path, "payload", "'{not json'")
    listing = client.get("/api/v1/events", params={"after": position - 1, "limit": 10})
    assert listing.status_code == 500
    assert listing.json()["position"] == position
    after = client.get("/api/v1/events", params={"after": position, "limit": 10})
    assert after.status_code == 200
    assert after.json()["events"], "later events are there"
    assert client.get("/api/v1/tasks").status_code == 200
