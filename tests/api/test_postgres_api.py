"""The real app on PostgreSQL: commands, queries, explanations, verification, time travel
and what-if replays all work there."""

from fastapi.testclient import TestClient

from infrastructure.bootstrap import bootstrap
from infrastructure.settings import Settings
from interfaces.http.app import create_app
from tests.api.conftest import LOCAL_CLIENT, TASK, wait_until


def test_the_api_on_postgresql(postgres_url: str) -> None:
    settings = Settings(database_url=postgres_url, simulator="off", sim_seed=1)
    with TestClient(create_app(bootstrap(settings)), **LOCAL_CLIENT) as client:
        assert client.get("/api/v1/health").json()["leader"] in (True, False)
        first = client.post("/api/v1/tasks", json=TASK, headers={"Idempotency-Key": "pg-1"})
        again = client.post("/api/v1/tasks", json=TASK, headers={"Idempotency-Key": "pg-1"})
        assert again.json() == first.json()
        assert again.headers["idempotency-replayed"] == "true"
        task_id = first.json()["id"]
        url = f"/api/v1/tasks/{task_id}"
        wait_until(lambda: client.get(url).json()["status"] == "processing", timeout=20)
        assert client.post(f"{url}/complete").json()["status"] == "completed"
        (decision,) = client.get(f"{url}/decisions").json()["decisions"]
        assert decision["outcome"] == "assigned"
        queued_at = client.get(f"{url}/events").json()["events"][0]["position"]
        assert client.get(url, params={"as_of": queued_at}).json()["status"] == "queued"
        assert client.get("/api/v1/audit/verify").json()["ok"] is True
        replay = client.post("/api/v1/replays", json={"algorithm": "min_cost"})
        assert replay.status_code == 200
        assert replay.json()["tasks"] == 1
        then = client.get("/api/v1/system/stats", params={"as_of": queued_at}).json()
        assert (then["tasks_pending"], then["tasks_completed"]) == (1, 0)
        pools = client.get("/api/v1/workers", params={"as_of": queued_at}).json()["worker_pools"]
        assert sum(pool["current_load"] for pool in pools) == 0
        early = client.post("/api/v1/replays", json={"algorithm": "fifo", "to": queued_at})
        assert early.status_code == 200, early.text
        assert early.json()["not_replayed"] == 1, "it had not started at that point"
        assert client.get("/api/v1/system/stats").json()["tasks_completed"] == 1
