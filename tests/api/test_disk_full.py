"""A commit that fails (the disk is full) acknowledges nothing: the request gets a 503
problem, the log holds none of its events, and the next command commits normally."""

import pytest

from tests.api.conftest import TASK, ClientFactory, head
from tests.faults import CommitFaults


def test_a_failed_commit_is_a_503_and_writes_nothing(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = CommitFaults("database or disk is full")
    disk.install_on_sqlite(monkeypatch)
    client = make_client(scheduler="off")
    assert client.post("/api/v1/tasks", json=TASK).status_code == 201
    before = head(client)
    disk.arm(1_000)
    refused = client.post("/api/v1/tasks", json=TASK)
    assert refused.status_code == 503
    assert refused.headers["content-type"] == "application/problem+json"
    assert "disk is full" in refused.json()["detail"]
    assert head(client) == before
    assert client.get("/api/v1/tasks").json()["total"] == 1

    disk.arm(0)
    assert client.post("/api/v1/tasks", json=TASK).status_code == 201
    assert head(client) == before + 1
    assert client.get("/api/v1/tasks").json()["total"] == 2
