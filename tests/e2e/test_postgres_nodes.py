"""Two server processes on one PostgreSQL: both take commands and answer queries alike,
exactly one schedules; when the scheduling node is killed the other takes over, and every
task still completes, each exactly once."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from socket import gethostname

import psycopg
import pytest

from infrastructure.replication.postgres_nodes import dsn
from tests.e2e.support import Server, wait_until
from tests.postgres_support import fresh_database

TASK = {"type": "order", "priority": 5, "cost": 1.0, "region": "eu-west"}


@pytest.fixture
def database() -> Iterator[str]:
    with fresh_database() as url:
        yield url


def leader(nodes: list[Server]) -> Server:
    def find() -> Server | None:
        leading = [n for n in nodes if n.client.get("/api/v1/health").json()["leader"]]
        return leading[0] if len(leading) == 1 else None

    return wait_until(find, timeout=30)


def test_two_nodes_share_the_work_and_survive_losing_the_scheduler(
    database: str, tmp_path: Path
) -> None:
    first = Server(database, tmp_path / "first.log", TASKROUTERX_SIM_MAX_LATENCY_S="0.3")
    second = Server(
        database, tmp_path / "second.log", TASKROUTERX_DEMO_POOLS="false",
        TASKROUTERX_SIM_MAX_LATENCY_S="0.3",
    )  # fmt: skip
    nodes = [first, second]
    try:
        submitted = []
        for index in range(60):
            node = nodes[index % 2]
            response = node.client.post("/api/v1/tasks", json=TASK)
            assert response.status_code == 201, response.text
            submitted.append(response.json()["id"])
        for task_id in submitted[:10]:
            assert first.client.get(f"/api/v1/tasks/{task_id}").status_code == 200
            assert second.client.get(f"/api/v1/tasks/{task_id}").status_code == 200

        chief = leader(nodes)
        standby = second if chief is first else first
        chief_health = chief.client.get("/api/v1/health").json()
        assert (
            chief_health["leader_node"] == chief_health["node"] == f"{gethostname()}:{chief.port}"
        )

        def says_who_leads() -> dict:  # type: ignore[type-arg]
            health = standby.client.get("/api/v1/health").json()
            return health if health["leader_node"] == chief_health["node"] else {}

        health = wait_until(says_who_leads, timeout=10)
        assert health["status"] == "healthy"
        for reactor in ("scheduler", "timekeeper", "simulator"):
            assert health[reactor]["status"] == "standby", reactor
        assert health["scheduler"]["lag"] is None
        ready = standby.client.get("/api/v1/ready").json()
        assert ready["checks"]["scheduler"]["state"] == f"standby ({chief_health['node']} leads)"
        status = subprocess.run(
            [sys.executable, "-m", "interfaces", "status"],
            env={**os.environ, "TASKROUTERX_DATABASE_URL": database},
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert f"scheduling on {chief_health['node']}" in status.stdout, status.stderr
        chief.kill()
        survivor = second if chief is first else first
        for _ in range(30):
            response = survivor.client.post("/api/v1/tasks", json=TASK)
            assert response.status_code == 201
            submitted.append(response.json()["id"])
        assert leader([survivor]) is survivor, "the survivor takes over scheduling"

        def all_finished() -> bool:
            stats = survivor.client.get("/api/v1/system/stats").json()
            return stats["tasks_completed"] + stats["tasks_failed"] == len(submitted)

        wait_until(all_finished, timeout=90)
        restarted = Server(database, tmp_path / "restarted.log", TASKROUTERX_DEMO_POOLS="false")
        nodes = [survivor, restarted]
        time.sleep(0.5)
        assert (
            restarted.client.get("/api/v1/system/stats").json()["tasks_completed"]
            == (survivor.client.get("/api/v1/system/stats").json()["tasks_completed"])
        )
    finally:
        for node in nodes:
            node.stop()

    with psycopg.connect(dsn(database)) as connection:
        rows = connection.execute(
            "SELECT stream_id, type FROM events WHERE stream_id LIKE 'task-%' ORDER BY position"
        ).fetchall()
    per_task: dict[str, list[str]] = {}
    for stream, kind in rows:
        per_task.setdefault(stream, []).append(kind)
    assert len(per_task) == len(submitted) == 90
    for kinds in per_task.values():
        # every attempt assigned once and ended once (a simulated failure is retried), and
        # the task finished once
        ended = kinds.count("TaskCompleted") + kinds.count("TaskFailed")
        assert kinds.count("WorkerAssigned") == ended
        assert kinds.count("TaskCompleted") + kinds.count("TaskDeadLettered") <= 1
        assert kinds[-1] in ("TaskCompleted", "TaskFailed", "TaskDeadLettered")
