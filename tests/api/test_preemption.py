"""Preemption through the real app: a tenant arriving into a system another tenant's
preemptible tasks fill gets its slots at once, up to its fair share and no further; the
victims wait for a new attempt without a failed one; the log verifies."""

import time
from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import ClientFactory, verified, verified_from_the_start, wait_until
from tests.api.tenant_support import CPU_CAPACITY, CPU_TASK, running


def preempted_events(client: TestClient) -> list[dict[str, Any]]:
    page = client.get("/api/v1/events", params={"type": "TaskPreempted", "limit": 500}).json()
    return [event["payload"] for event in page["events"]]


def test_a_tenant_arriving_into_a_full_system_takes_its_share_by_preemption(
    make_client: ClientFactory,
) -> None:
    client = make_client()
    for name in ("a", "b"):
        assert client.post("/api/v1/tenants", json={"name": name}).is_success
    for _ in range(40):
        task = {**CPU_TASK, "tenant": "a", "preemptible": True}
        assert client.post("/api/v1/tasks", json=task).is_success
    wait_until(lambda: running(client)["a"] == CPU_CAPACITY)
    time.sleep(1.1)  # a whole second of a holding every cpu slot, for the series below

    arrivals = [
        client.post("/api/v1/tasks", json={**CPU_TASK, "tenant": "b"}).json()["id"]
        for _ in range(30)
    ]
    # b is owed half of the 34 slots: 17, each freed by one preemption, and no more
    now = wait_until(lambda: (now := running(client))["b"] == 17 and now)
    assert now["a"] == 17
    events = wait_until(lambda: len(found := preempted_events(client)) == 17 and found)
    assert {event["tenant"] for event in events} == {"a"}
    assert {event["beneficiary_tenant"] for event in events} == {"b"}
    assert {event["beneficiary"] for event in events} <= set(arrivals)
    assert events[0]["rule"] == (
        "a over its share (1; 0.970588 without the task >= b's 0.029412 with it): "
        "lowest priority, newest"
    )
    assert client.get("/api/v1/system/stats").json()["scheduler_stats"]["tasks_preempted"] == 17
    tenants = {t["name"]: t for t in client.get("/api/v1/tenants").json()["tenants"]}
    assert (tenants["a"]["preempted"], tenants["b"]["preempted"]) == (17, 0)
    series = client.get("/api/v1/system/tenant-series", params={"window_s": 60, "step_s": 1})
    assert series.status_code == 200, series.text
    lines = series.json()["tenants"]
    assert series.json()["slots"] == 51  # 34 cpu and 17 gpu
    assert lines["a"]["running"][-1] == 17
    assert lines["b"]["running"][-1] == 17
    assert max(lines["a"]["running"]) == CPU_CAPACITY, "a held every cpu slot before b came"
    assert lines["b"]["share_pct"][-1] == round(100 * 17 / 51, 2)

    victim = events[0]["task_id"]
    after = client.get(f"/api/v1/tasks/{victim}").json()
    assert after["status"] == "queued", after  # waiting again: a is at its share
    history = [e["type"] for e in client.get(f"/api/v1/tasks/{victim}/events").json()["events"]]
    assert history[-3:] == ["TaskPreempted", "TaskReady", "TaskDeferred"], history
    assert "TaskFailed" not in history

    report = verified(client)
    assert report["ok"], report
    full = verified_from_the_start(client)
    assert full["ok"], full
    assert full["preemptions_checked"] == 17


def test_tasks_not_marked_preemptible_keep_their_slots(make_client: ClientFactory) -> None:
    client = make_client()
    for name in ("a", "b"):
        client.post("/api/v1/tenants", json={"name": name})
    for _ in range(CPU_CAPACITY):
        client.post("/api/v1/tasks", json={**CPU_TASK, "tenant": "a"})
    wait_until(lambda: running(client)["a"] == CPU_CAPACITY)
    waiting = client.post("/api/v1/tasks", json={**CPU_TASK, "tenant": "b"}).json()
    deferred = wait_until(
        lambda: (t := client.get(f"/api/v1/tasks/{waiting['id']}").json())["deferral_reason"] and t
    )
    assert deferred["status"] == "queued"
    assert preempted_events(client) == []


def test_a_what_if_replay_reports_per_tenant_figures_and_takes_other_weights(
    make_client: ClientFactory,
) -> None:
    client = make_client()
    for name in ("a", "b"):
        client.post("/api/v1/tenants", json={"name": name})
    for _ in range(40):
        client.post("/api/v1/tasks", json={**CPU_TASK, "tenant": "a", "preemptible": True})
    wait_until(lambda: running(client)["a"] == CPU_CAPACITY)
    for _ in range(5):
        client.post("/api/v1/tasks", json={**CPU_TASK, "tenant": "b"})
    wait_until(lambda: len(preempted_events(client)) == 5)
    for task in client.get("/api/v1/tasks", params={"status": "processing"}).json()["tasks"]:
        client.post(f"/api/v1/tasks/{task['id']}/complete")

    body = {"algorithm": "fifo", "tenants": {"b": {"weight": 3}}}
    replay = client.post("/api/v1/replays", json=body)
    assert replay.status_code == 200, replay.text
    result = replay.json()
    assert result == client.post("/api/v1/replays", json=body).json()
    tenants = result["tenants"]
    assert tenants["actual"]["a"]["preemptions"] == 5
    assert tenants["actual"]["b"]["tasks"] == 5
    assert len(tenants["actual"]["a"]["share_pct"]) == 20

    unknown = client.post(
        "/api/v1/replays", json={"algorithm": "fifo", "tenants": {"z": {"weight": 2}}}
    )
    assert unknown.status_code == 422
    assert "no task or setting of tenant z" in unknown.json()["detail"]
    for bad in ({"weight": 0}, {"quota": {"cpu": -1}}, {"quota": {"tpu": 1}}, {}):
        refused = client.post("/api/v1/replays", json={"algorithm": "fifo", "tenants": {"a": bad}})
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
