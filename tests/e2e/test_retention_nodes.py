"""Retention with two server processes on one PostgreSQL: only the node that schedules
archives; when it is killed (in the middle of a batch, perhaps) the other takes over and
goes on, and the archive plus the hot log verify from position 1, nothing lost or twice."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.support import Server, wait_until
from tests.e2e.test_postgres_nodes import TASK, leader
from tests.postgres_support import fresh_database

RETENTION = {
    "TASKROUTERX_ARCHIVE_AFTER": "1s",
    "TASKROUTERX_ARCHIVE_CHECK_S": "0.2",
    "TASKROUTERX_SIM_MAX_LATENCY_S": "0.05",
    "TASKROUTERX_SIM_FAILURE_RATE": "0",
}


@pytest.fixture
def database() -> Iterator[str]:
    with fresh_database() as url:
        yield url


def log_of(node: Server) -> dict[str, Any]:
    log: dict[str, Any] = node.client.get("/api/v1/health").json()["log"]
    return log


def test_only_the_leader_archives_and_a_takeover_loses_and_duplicates_nothing(
    database: str, tmp_path: Path
) -> None:
    archive = str(tmp_path / "archive")
    first = Server(database, tmp_path / "first.log", TASKROUTERX_ARCHIVE_DIR=archive,
                   **RETENTION)  # fmt: skip
    second = Server(database, tmp_path / "second.log", TASKROUTERX_ARCHIVE_DIR=archive,
                    TASKROUTERX_DEMO_POOLS="false", **RETENTION)  # fmt: skip
    nodes = [first, second]
    submitted = 0
    try:
        for index in range(40):
            assert nodes[index % 2].client.post("/api/v1/tasks", json=TASK).status_code == 201
            submitted += 1
        chief = leader(nodes)
        standby = second if chief is first else first
        wait_until(lambda: log_of(chief)["retention"]["last_run"] is not None, timeout=30)
        standing = log_of(standby)["retention"]
        assert standing["status"] == "standby"
        assert standing["last_run"] is None, "the standby never archives"
        before = wait_until(lambda: log_of(standby)["start"] or None, timeout=30)

        chief.kill()
        for _ in range(20):
            assert standby.client.post("/api/v1/tasks", json=TASK).status_code == 201
            submitted += 1
        assert leader([standby]) is standby
        taken = wait_until(
            lambda: (
                (log := log_of(standby))["retention"]["last_run"] and log["start"] > before and log
            ),
            timeout=60,
        )
        assert taken["retention"]["status"] == "running"

        def finished() -> bool:
            stats = standby.client.get("/api/v1/system/stats").json()
            return bool(stats["tasks_completed"] == submitted)

        try:
            wait_until(finished, timeout=60)
        except AssertionError:
            raise AssertionError(f"tasks left unfinished: {unfinished(standby)}") from None
    finally:
        for node in nodes:
            node.stop()

    verified = subprocess.run(
        [sys.executable, "-m", "interfaces", "audit", "verify", "--from-archive", archive],
        env={**os.environ, "TASKROUTERX_DATABASE_URL": database},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    head = int(verified.stdout.split()[0])
    assert f"hash chain intact over {head} events" in verified.stdout


def unfinished(node: Server) -> dict[str, object]:
    """Each task not completed, with its events' types (for a failure's message)."""
    found: dict[str, object] = {}
    for status in ("queued", "processing", "failed", "delayed"):
        page = node.client.get("/api/v1/tasks", params={"status": status, "page_size": 100})
        for task in page.json()["tasks"]:
            answer = node.client.get(f"/api/v1/tasks/{task['id']}/events")
            events = answer.json().get("events") if answer.status_code == 200 else answer.text
            found[task["id"]] = (status, [e["type"] for e in events or []]
                                 if isinstance(events, list) else events)  # fmt: skip
    return found
