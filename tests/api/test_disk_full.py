"""A commit that fails (the disk is full) acknowledges nothing: the request gets a 503
problem, the log holds none of its events, and the next command commits normally."""

import sqlite3
from typing import Any

import pytest

from infrastructure.sql import write_connection
from tests.api.conftest import TASK, ClientFactory, head


class FullDisk:
    """A SQLite connection whose COMMITs fail while `full` is set, as on a full disk."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self.full = False

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if self.full and sql == "COMMIT":
            raise sqlite3.OperationalError("database or disk is full")
        return self._connection.execute(sql, *args)

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        return self._connection.executemany(sql, rows)

    @property
    def in_transaction(self) -> bool:
        return self._connection.in_transaction

    def close(self) -> None:
        self._connection.close()


def test_a_failed_commit_is_a_503_and_writes_nothing(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    disks: list[FullDisk] = []
    opened = write_connection.WriteConnection._open

    def open_on_a_disk(self: write_connection.WriteConnection) -> Any:
        disk = FullDisk(opened(self))
        self._connection = disk  # type: ignore[assignment]
        disks.append(disk)
        return disk

    monkeypatch.setattr(write_connection.WriteConnection, "_open", open_on_a_disk)
    client = make_client(scheduler="off")
    assert client.post("/api/v1/tasks", json=TASK).status_code == 201
    before = head(client)
    (disk,) = disks
    disk.full = True
    refused = client.post("/api/v1/tasks", json=TASK)
    assert refused.status_code == 503
    assert refused.headers["content-type"] == "application/problem+json"
    assert "disk is full" in refused.json()["detail"]
    assert head(client) == before
    assert client.get("/api/v1/tasks").json()["total"] == 1

    disk.full = False
    assert client.post("/api/v1/tasks", json=TASK).status_code == 201
    assert head(client) == before + 1
    assert client.get("/api/v1/tasks").json()["total"] == 2
