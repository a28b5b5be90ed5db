"""Fair share in the running scheduler, through the real app: tenants of weights 1/1/2 with
bursts that exceed the capacity end up holding it 25/25/50; a tenant at its quota waits
and the decisions say why; every decision with a tenant stage verifies."""

from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import ClientFactory, verified, verified_from_the_start, wait_until
from tests.api.tenant_support import CPU_CAPACITY, CPU_TASK, running


def processing(client: TestClient) -> list[dict[str, Any]]:
    page = client.get("/api/v1/tasks", params={"status": "processing", "page_size": 100}).json()
    return sorted(page["tasks"], key=lambda task: task["started_at"])


def settled(client: TestClient, total: int) -> dict[str, int]:
    """The tenants' running tasks once `total` run in all."""
    return wait_until(lambda: (now := running(client)) and sum(now.values()) == total and now)


def test_weights_1_1_2_share_a_full_system_25_25_50(make_client: ClientFactory) -> None:
    client = make_client()
    for name, weight in (("a", 1), ("b", 1), ("c", 2)):
        assert client.post("/api/v1/tenants", json={"name": name, "weight": weight}).is_success
    for name in ("a", "b", "c"):  # each more than a's first 34 slots and its fair 8.5 after
        for _ in range(60):
            assert client.post("/api/v1/tasks", json={**CPU_TASK, "tenant": name}).is_success
    first = settled(client, CPU_CAPACITY)
    assert first["a"] >= 30, f"a's burst came first and took the free capacity: {first}"
    for _ in range(60):  # the oldest running task finishes; fair share gives its slot away
        oldest = processing(client)[0]
        assert client.post(f"/api/v1/tasks/{oldest['id']}/complete").is_success
        settled(client, CPU_CAPACITY)
    shares = {name: count / CPU_CAPACITY for name, count in running(client).items()}
    assert abs(shares["a"] - 0.25) <= 0.05, shares
    assert abs(shares["b"] - 0.25) <= 0.05, shares
    assert abs(shares["c"] - 0.50) <= 0.05, shares
    waiting = {t["name"]: t["queued"] for t in client.get("/api/v1/tenants").json()["tenants"]}
    assert all(waiting[name] > 0 for name in "abc"), f"all three stayed backlogged: {waiting}"
    latest = processing(client)[-1]
    decision = client.get(f"/api/v1/tasks/{latest['id']}/decisions").json()["decisions"][-1]
    assert decision["outcome"] == "assigned"
    stage = decision["tenant_stage"]
    assert stage["chosen"] == latest["tenant"]
    assert {t["name"] for t in stage["tenants"]} == {"a", "b", "c"}
    assert stage["summary"].startswith(f"{latest['tenant']} chosen at ")
    rows = {t["name"]: t for t in stage["tenants"]}
    assert rows[latest["tenant"]]["verdict"] == "chosen"
    assert rows[latest["tenant"]]["why"] is None
    for name, row in rows.items():
        if name != latest["tenant"]:
            assert row["why"], row
            assert f"{name} waits: {row['why']}" in stage["summary"]
    report = verified(client)
    assert report["ok"], report
    assert report["decisions_checked"] >= CPU_CAPACITY + 60


def test_a_tenant_at_its_quota_waits_while_others_run(make_client: ClientFactory) -> None:
    client = make_client()
    client.post("/api/v1/tenants", json={"name": "capped", "quota": {"cpu": 3}})
    client.post("/api/v1/tenants", json={"name": "free"})
    ids = [
        client.post("/api/v1/tasks", json={**CPU_TASK, "tenant": "capped"}).json()["id"]
        for _ in range(6)
    ]
    now = settled(client, 3)
    assert now == {"default": 0, "capped": 3, "free": 0}
    other = client.post("/api/v1/tasks", json={**CPU_TASK, "tenant": "free"}).json()
    placed = wait_until(
        lambda: (
            (t := client.get(f"/api/v1/tasks/{other['id']}").json())["status"] == "processing" and t
        )
    )
    decision = client.get(f"/api/v1/tasks/{placed['id']}/decisions").json()["decisions"][-1]
    assert "capped waits: at quota 3/3 cpu" in decision["tenant_stage"]["summary"]
    assert running(client)["capped"] == 3, "the quota held while capacity was free"
    client.post(f"/api/v1/tasks/{ids[0]}/complete")
    wait_until(lambda: client.get("/api/v1/tenants/capped").json()["queued"] == 2)
    assert running(client)["capped"] == 3, "a finished task's slot went to the next of its own"
    client.patch("/api/v1/tenants/capped", json={"quota": {"cpu": 1}})
    client.post(f"/api/v1/tasks/{ids[1]}/complete")
    settled(client, 3)  # capped 2 (above its new quota of 1: kept running), free 1
    assert running(client)["capped"] == 2, "lowering the quota stops no running task"
    report = verified_from_the_start(client)
    assert report["ok"], report


def test_one_tenant_without_quotas_records_no_tenant_stage(client: TestClient) -> None:
    task = client.post("/api/v1/tasks", json=CPU_TASK).json()
    wait_until(lambda: client.get(f"/api/v1/tasks/{task['id']}").json()["status"] == "processing")
    (decision,) = client.get(f"/api/v1/tasks/{task['id']}/decisions").json()["decisions"]
    assert decision["tenant_stage"] is None


def test_a_tenant_arriving_into_a_full_system_gets_the_next_freed_slot(
    make_client: ClientFactory,
) -> None:
    client = make_client()
    for name in ("a", "b"):
        client.post("/api/v1/tenants", json={"name": name})
    for _ in range(CPU_CAPACITY + 10):  # a's backlog waits behind its running tasks
        client.post("/api/v1/tasks", json={**CPU_TASK, "tenant": "a"})
    settled(client, CPU_CAPACITY)
    late = client.post("/api/v1/tasks", json={**CPU_TASK, "tenant": "b"}).json()
    wait_until(lambda: client.get(f"/api/v1/tasks/{late['id']}").json()["deferral_reason"])
    oldest = processing(client)[0]
    assert client.post(f"/api/v1/tasks/{oldest['id']}/complete").is_success
    placed = wait_until(
        lambda: (
            (t := client.get(f"/api/v1/tasks/{late['id']}").json())["status"] == "processing" and t
        )
    )
    assert placed["tenant"] == "b"
    assert running(client) == {"default": 0, "a": CPU_CAPACITY - 1, "b": 1}
