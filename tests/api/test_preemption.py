"""Preemption through the real app: a tenant arriving into a system another tenant's
preemptible tasks fill gets its slots at once, up to its fair share and no further; the
victims wait for a new attempt without a failed one; the log verifies."""

import json
from typing import Any

from fastapi.testclient import TestClient

from interfaces.http.middleware.auth import digest
from tests.api.conftest import ClientFactory, verified, verified_from_the_start, wait_until
from tests.api.tenant_support import CPU_CAPACITY, CPU_TASK, running


def preempted_events(
    client: TestClient, headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    params = {"type": "TaskPreempted", "limit": 500}
    page = client.get("/api/v1/events", params=params, headers=headers).json()
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
    series = client.get("/api/v1/system/tenant-series", params={"window_s": 60, "step_s": 10})
    assert series.status_code == 200, series.text
    lines = series.json()["tenants"]
    assert series.json()["slots"] == 51  # 34 cpu and 17 gpu
    assert lines["a"]["running"][-1] == 17
    assert lines["b"]["running"][-1] == 17
    coarse = client.get("/api/v1/system/tenant-series", params={"step_s": 15})
    assert coarse.status_code == 422, "counts are kept per 10 s"
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


def test_a_key_bound_to_a_tenant_reads_no_other_tenants_name_or_task(
    make_client: ClientFactory,
) -> None:
    keys = [
        {"name": "ops", "scopes": ["admin"]},
        {"name": "a-reader", "scopes": ["tasks:read"], "tenant": "a"},
        {"name": "b-reader", "scopes": ["tasks:read"], "tenant": "b"},
    ]
    for key in keys:
        key["sha256"] = digest(f"key-{key['name']}")
    client = make_client(api_keys=json.dumps(keys))
    ops, a_reader, b_reader = ({"X-API-Key": f"key-{n}"} for n in ("ops", "a-reader", "b-reader"))
    for name in ("a", "b"):
        client.post("/api/v1/tenants", json={"name": name}, headers=ops)
    for _ in range(CPU_CAPACITY + 2):  # two of a's wait: b's placement is a choice
        task = {**CPU_TASK, "tenant": "a", "preemptible": True}
        client.post("/api/v1/tasks", json=task, headers=ops)
    wait_until(lambda: running(client, ops)["a"] == CPU_CAPACITY)
    late = client.post("/api/v1/tasks", json={**CPU_TASK, "tenant": "b"}, headers=ops).json()
    (preempted,) = wait_until(lambda: preempted_events(client, ops))
    assert preempted["beneficiary"] == late["id"]  # an unbound key reads it all

    victim = preempted["task_id"]
    history = client.get(f"/api/v1/tasks/{victim}/events", headers=a_reader).json()["events"]
    (seen,) = [e["payload"] for e in history if e["type"] == "TaskPreempted"]
    assert (seen["beneficiary"], seen["beneficiary_tenant"]) == (None, "another tenant")
    assert "b's" not in seen["rule"]
    page = client.get("/api/v1/events", params={"type": "TaskPreempted"}, headers=a_reader)
    assert [e["payload"]["beneficiary"] for e in page.json()["events"]] == [None]

    wait_until(lambda: client.get(f"/api/v1/tasks/{late['id']}", headers=ops).json()["pool_id"])
    decisions = client.get(f"/api/v1/tasks/{late['id']}/decisions", headers=b_reader).json()
    stage = decisions["decisions"][-1]["tenant_stage"]
    assert [row["name"] for row in stage["tenants"]] == ["b"]
    assert stage["chosen"] == "b"
    assert stage["summary"].endswith("; 1 other tenant competed")
    assert "a waits" not in stage["summary"]
    mine = client.get("/api/v1/events", params={"type": "WorkerAssigned"}, headers=b_reader)
    (assigned,) = [e["payload"]["decision"]["tenants"] for e in mine.json()["events"]]
    assert assigned["names"] == ["b"]
    assert "a waits" not in assigned["summary"]
    full = client.get(f"/api/v1/tasks/{late['id']}/decisions", headers=ops).json()
    assert {row["name"] for row in full["decisions"][-1]["tenant_stage"]["tenants"]} == {"a", "b"}
