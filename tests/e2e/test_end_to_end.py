"""The real server, started with the `taskrouterx serve` command on a real SQLite file:
200 tasks go queued -> processing -> completed | failed (a simulated failure retried after
its backoff), pools drain back to zero load,
the stats agree with the task list, and a restart resumes where it stopped."""

from pathlib import Path

from tests.e2e.support import all_tasks, server, wait_until

TASKS = 200


def test_two_hundred_tasks_end_to_end(tmp_path: Path) -> None:
    database = tmp_path / "taskrouterx.db"
    with server(database) as client:
        regions = ["us-east", "us-west", "eu-west", "ap-east", "sa-east"]
        for index in range(TASKS):
            body = {
                "type": ["order", "simulation", "query"][index % 3],
                "priority": index % 10 + 1,
                "cost": 1 + index % 7,
                "region": regions[index % 5],
                "resource_type": [None, "cpu", "gpu"][index % 3],
            }
            if index == TASKS // 2:
                assert (
                    client.post(
                        "/api/v1/algorithms/switch", json={"algorithm": "priority"}
                    ).status_code
                    == 200
                )
            response = client.post("/api/v1/tasks", json=body)
            assert response.status_code == 201, response.text

        def finished() -> list[dict] | None:  # type: ignore[type-arg]
            tasks = all_tasks(client)
            done = [t for t in tasks if t["status"] in ("completed", "failed")]
            return tasks if len(done) == TASKS else None

        tasks = wait_until(finished)
        assert len(tasks) == TASKS
        assert all(t["worker_id"] and t["started_at"] and t["completed_at"] for t in tasks)
        assert {t["algorithm_used"] for t in tasks} == {"fifo", "priority"}
        gpu_pools = {
            p["id"]
            for p in client.get("/api/v1/workers").json()["worker_pools"]
            if p["resource_type"] == "gpu"
        }
        assert all(t["pool_id"] in gpu_pools for t in tasks if t["resource_type"] == "gpu")

        pools = client.get("/api/v1/workers").json()["worker_pools"]
        assert [p["current_load"] for p in pools] == [0] * 8

        stats = client.get("/api/v1/system/stats").json()
        completed = sum(t["status"] == "completed" for t in tasks)
        failed = sum(t["status"] == "failed" for t in tasks)
        assert (stats["tasks_completed"], stats["tasks_failed"]) == (completed, failed)
        assert stats["tasks_processed"] == TASKS
        assert stats["tasks_pending"] == stats["queue_size"] == 0
        attempts = sum(t["attempt"] for t in tasks)
        assert attempts >= TASKS, "a simulated failure is retried: a task may take more"
        assert stats["scheduler_stats"]["tasks_assigned"] == attempts
        assert set(stats["worker_utilization"].values()) == {0.0}
        assert stats["average_latency"] > 0

        histories = [
            client.get(f"/api/v1/tasks/{t['id']}/events").json()["events"] for t in tasks[:20]
        ]
        for history in histories:
            types = [e["type"] for e in history]
            assert types[0] == "TaskQueued"
            assert types[-1] in ("TaskCompleted", "TaskFailed", "TaskDeadLettered")
            assert "WorkerAssigned" in types

    with server(database, TASKROUTERX_SIMULATOR="off") as client:
        assert len(all_tasks(client)) == TASKS
        task = client.post(
            "/api/v1/tasks", json={"type": "order", "priority": 5, "cost": 1, "region": "us-east"}
        ).json()
        wait_until(
            lambda: client.get(f"/api/v1/tasks/{task['id']}").json()["status"] == "processing"
        )
        assert len(client.get("/api/v1/workers").json()["worker_pools"]) == 8, (
            "demo pools only on a fresh database"
        )


def test_tasks_queued_before_a_restart_are_scheduled_after_it(tmp_path: Path) -> None:
    database = tmp_path / "taskrouterx.db"
    with server(database, TASKROUTERX_SCHEDULER="off") as client:
        ids = [
            client.post(
                "/api/v1/tasks",
                json={"type": "query", "priority": 3, "cost": 2, "region": "eu-west"},
            ).json()["id"]
            for _ in range(5)
        ]
    with server(database) as client:
        wait_until(
            lambda: all(
                client.get(f"/api/v1/tasks/{i}").json()["status"] in ("completed", "failed")
                for i in ids
            )
        )
