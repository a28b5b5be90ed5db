"""A database locked by someone else past the busy timeout is a 503, not a 500."""

import sqlite3
from pathlib import Path

from tests.api.conftest import TASK, ClientFactory


def test_a_locked_database_is_a_503_problem_then_recovers(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    client = make_client(scheduler="off", busy_timeout_ms=50)
    holder = sqlite3.connect(tmp_path / "taskrouterx.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        response = client.post("/api/v1/tasks", json=TASK)
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == "1"
        assert "database unavailable" in response.json()["detail"]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert client.post("/api/v1/tasks", json=TASK).status_code == 201
    assert client.get("/api/v1/tasks").json()["total"] == 1
