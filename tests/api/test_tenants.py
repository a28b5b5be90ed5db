"""Tenants through the real app: created, listed, changed and refused as a user sees them,
and tasks submitted for them."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from interfaces.http.middleware.auth import InvalidKeyConfiguration, KeyRing, digest
from tests.api.conftest import TASK, ClientFactory, head
from tests.api.test_operations import samples, value

TEAM_A = {"name": "team-a", "weight": 2, "quota": {"cpu": 4}, "borrowing": {"cpu": 2}}


def test_a_tenant_is_created_listed_and_read_back(idle_client: TestClient) -> None:
    created = idle_client.post("/api/v1/tenants", json=TEAM_A)
    assert created.status_code == 201
    tenant = created.json()
    assert tenant["name"] == "team-a"
    assert tenant["weight"] == 2.0
    assert tenant["quota"] == {"cpu": 4, "gpu": None}
    assert tenant["borrowing"] == {"cpu": 2, "gpu": 0}, "no borrowing unless given"
    assert tenant["created_at"] is not None
    listed = idle_client.get("/api/v1/tenants").json()["tenants"]
    assert [t["name"] for t in listed] == ["default", "team-a"]
    assert listed[0]["weight"] == 1.0
    assert listed[0]["quota"] == {"cpu": None, "gpu": None}
    got = idle_client.get("/api/v1/tenants/team-a").json()
    assert {k: got[k] for k in tenant} == tenant
    assert (got["queued"], got["delayed"], got["processing"]) == (0, 0, 0)
    events = idle_client.get("/api/v1/events", params={"type": "TenantCreated"}).json()
    assert [e["stream_id"] for e in events["events"]] == ["tenant-team-a"]


def test_a_change_keeps_the_limits_it_does_not_name(idle_client: TestClient) -> None:
    idle_client.post("/api/v1/tenants", json={**TEAM_A, "quota": {"cpu": 4, "gpu": 1}})
    changed = idle_client.patch("/api/v1/tenants/team-a", json={"quota": {"cpu": 8}, "weight": 3})
    assert changed.status_code == 200
    assert changed.json()["quota"] == {"cpu": 8, "gpu": 1}
    assert changed.json()["weight"] == 3.0
    assert changed.json()["changed_at"] is not None
    unlimited = idle_client.patch("/api/v1/tenants/team-a", json={"quota": {"gpu": None}})
    assert unlimited.json()["quota"] == {"cpu": 8, "gpu": None}


def test_the_default_tenant_can_be_changed_but_not_created(idle_client: TestClient) -> None:
    assert idle_client.post("/api/v1/tenants", json={"name": "default"}).status_code == 409
    changed = idle_client.patch("/api/v1/tenants/default", json={"weight": 0.5})
    assert changed.status_code == 200
    assert changed.json()["weight"] == 0.5
    assert [t["weight"] for t in idle_client.get("/api/v1/tenants").json()["tenants"]] == [0.5]


def test_tasks_belong_to_the_tenant_they_name_and_lists_filter_by_it(
    idle_client: TestClient,
) -> None:
    idle_client.post("/api/v1/tenants", json=TEAM_A)
    mine = idle_client.post("/api/v1/tasks", json={**TASK, "tenant": "team-a", "preemptible": True})
    assert mine.status_code == 201
    assert (mine.json()["tenant"], mine.json()["preemptible"]) == ("team-a", True)
    other = idle_client.post("/api/v1/tasks", json=TASK).json()
    assert (other["tenant"], other["preemptible"]) == ("default", False)
    page = idle_client.get("/api/v1/tasks", params={"tenant": "team-a"}).json()
    assert [t["id"] for t in page["tasks"]] == [mine.json()["id"]]
    assert page["total"] == 1
    assert idle_client.get("/api/v1/tasks").json()["total"] == 2
    assert idle_client.get("/api/v1/tenants/team-a").json()["queued"] == 1
    assert idle_client.get("/api/v1/tenants/default").json()["queued"] == 1


def test_bad_tenant_input_is_refused_with_problem_details_and_writes_nothing(
    idle_client: TestClient,
) -> None:
    idle_client.post("/api/v1/tenants", json=TEAM_A)
    before = head(idle_client)
    refused = [
        idle_client.post("/api/v1/tenants", json={"name": "Team B"}),
        idle_client.post("/api/v1/tenants", json={"name": "b", "weight": 0}),
        idle_client.post("/api/v1/tenants", json={"name": "b", "weight": -1}),
        idle_client.post("/api/v1/tenants", json={"name": "b", "weight": "2"}),
        idle_client.post("/api/v1/tenants", json={"name": "b", "quota": {"cpu": -1}}),
        idle_client.post("/api/v1/tenants", json={"name": "b", "quota": {"cpu": 10**7}}),
        idle_client.post("/api/v1/tenants", json={"name": "b", "quota": {"tpu": 1}}),
        idle_client.patch("/api/v1/tenants/team-a", json={}),
        idle_client.patch("/api/v1/tenants/team-a", json={"borrowing": {"gpu": -3}}),
        idle_client.post("/api/v1/tasks", json={**TASK, "tenant": "nobody"}),
        idle_client.post("/api/v1/tasks", json={**TASK, "tenant": "No Body"}),
        idle_client.post("/api/v1/tasks", json={**TASK, "preemptible": "yes"}),
    ]
    assert [r.status_code for r in refused] == [422] * len(refused)
    assert all(r.headers["content-type"] == "application/problem+json" for r in refused)
    assert "tenant 'nobody' does not exist" in refused[-3].json()["detail"]
    assert idle_client.post("/api/v1/tenants", json=TEAM_A).status_code == 409
    missing = idle_client.patch("/api/v1/tenants/nobody", json={"weight": 2})
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert idle_client.get("/api/v1/tenants/nobody").status_code == 404
    assert head(idle_client) == before


def test_changing_tenants_needs_the_tenants_scope(make_client: ClientFactory) -> None:
    keys = {"reader": ["tasks:read"], "pools": ["pools:admin"], "tenants": ["tenants:admin"]}
    client = make_client(
        scheduler="off",
        api_keys=json.dumps(
            [{"name": n, "sha256": digest(f"key-{n}"), "scopes": s} for n, s in keys.items()]
        ),
    )

    def as_key(name: str) -> dict[str, str]:
        return {"X-API-Key": f"key-{name}"}

    for name in ("reader", "pools"):
        denied = client.post("/api/v1/tenants", json=TEAM_A, headers=as_key(name))
        assert denied.status_code == 403
    assert client.post("/api/v1/tenants", json=TEAM_A, headers=as_key("tenants")).status_code == 201
    patch = client.patch("/api/v1/tenants/team-a", json={"weight": 3}, headers=as_key("reader"))
    assert patch.status_code == 403
    assert client.get("/api/v1/tenants", headers=as_key("reader")).status_code == 200


def _keys(client_factory: ClientFactory) -> TestClient:
    keys = [
        {"name": "ops", "scopes": ["admin"]},
        {"name": "a-writer", "scopes": ["tasks:read", "tasks:write"], "tenant": "team-a"},
        {"name": "a-worker", "scopes": ["tasks:work"], "tenant": "team-a"},
        {"name": "b-writer", "scopes": ["tasks:read", "tasks:write"], "tenant": "team-b"},
        {"name": "a-admin", "scopes": ["admin"], "tenant": "team-a"},
    ]
    for key in keys:
        key["sha256"] = digest(f"key-{key['name']}")
    return client_factory(scheduler="off", api_keys=json.dumps(keys))


def as_key(name: str) -> dict[str, str]:
    return {"X-API-Key": f"key-{name}"}


def test_a_key_bound_to_a_tenant_submits_and_sees_only_that_tenants_tasks(
    make_client: ClientFactory,
) -> None:
    client = _keys(make_client)
    for name in ("team-a", "team-b"):
        assert client.post("/api/v1/tenants", json={"name": name}, headers=as_key("ops")).is_success
    mine = client.post("/api/v1/tasks", json=TASK, headers=as_key("a-writer"))
    assert mine.status_code == 201
    assert mine.json()["tenant"] == "team-a", "the key's tenant when the body names none"
    theirs = client.post("/api/v1/tasks", json=TASK, headers=as_key("b-writer")).json()
    other = client.post(
        "/api/v1/tasks", json={**TASK, "tenant": "team-b"}, headers=as_key("a-writer")
    )
    assert other.status_code == 422
    assert "submits for tenant 'team-a' only" in other.json()["detail"]
    task_id = mine.json()["id"]
    assert client.get(f"/api/v1/tasks/{task_id}", headers=as_key("a-writer")).status_code == 200
    for path in ("", "/events", "/decisions", "/timeline"):
        hidden = client.get(f"/api/v1/tasks/{theirs['id']}{path}", headers=as_key("a-writer"))
        assert hidden.status_code == 404, path
    assert (
        client.post(f"/api/v1/tasks/{theirs['id']}/cancel", headers=as_key("a-writer")).status_code
        == 404
    )
    assert (
        client.delete(f"/api/v1/tasks/{theirs['id']}", headers=as_key("a-writer")).status_code
        == 404
    )
    assert (
        client.get(f"/api/v1/tasks/{theirs['id']}", headers=as_key("b-writer")).json()["status"]
        == "queued"
    )
    listed = client.get("/api/v1/tasks", headers=as_key("a-writer")).json()
    assert [t["id"] for t in listed["tasks"]] == [task_id]
    assert listed["total"] == 1
    asked = client.get("/api/v1/tasks", params={"tenant": "team-b"}, headers=as_key("a-writer"))
    assert asked.status_code == 404
    assert client.get("/api/v1/tasks", headers=as_key("ops")).json()["total"] == 2
    tenants = client.get("/api/v1/tenants", headers=as_key("a-writer")).json()["tenants"]
    assert [t["name"] for t in tenants] == ["team-a"]
    assert client.get("/api/v1/tenants/team-b", headers=as_key("a-writer")).status_code == 404
    assert client.delete(f"/api/v1/tasks/{task_id}", headers=as_key("a-writer")).status_code == 204


def test_a_bound_key_cannot_read_the_whole_log_or_lease_every_tenants_tasks(
    make_client: ClientFactory,
) -> None:
    client = _keys(make_client)
    pool = client.get("/api/v1/workers", headers=as_key("ops")).json()["worker_pools"][0]["id"]
    refused = [
        client.get("/api/v1/logs", headers=as_key("a-writer")),
        client.post(
            f"/api/v1/workers/{pool}/lease", json={"worker_id": "w"}, headers=as_key("a-worker")
        ),
        client.post("/api/v1/replays", json={"algorithm": "fifo"}, headers=as_key("a-admin")),
    ]
    assert [r.status_code for r in refused] == [403] * 3
    assert all(r.headers["content-type"] == "application/problem+json" for r in refused)
    assert client.get("/api/v1/events", headers=as_key("ops")).status_code == 200


def test_a_key_bound_to_no_valid_tenant_name_stops_the_configuration() -> None:
    entry = {"name": "k", "sha256": digest("k"), "scopes": ["tasks:read"], "tenant": "Team A"}
    with pytest.raises(InvalidKeyConfiguration, match="bound to 'Team A', which is no tenant"):
        KeyRing.load(json.dumps([entry]), None)


def test_the_metrics_count_each_tenants_waiting_and_running_tasks(idle_client: TestClient) -> None:
    idle_client.post("/api/v1/tenants", json=TEAM_A)
    for tenant in ("team-a", "team-a", None):
        idle_client.post("/api/v1/tasks", json={**TASK, "tenant": tenant})
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    delayed = idle_client.post(
        "/api/v1/tasks", json={**TASK, "tenant": "team-a", "not_before": later}
    )
    assert delayed.json()["status"] == "delayed"
    found = samples(idle_client)
    assert value(found, "taskrouterx_tenant_tasks", tenant="team-a", status="queued") == 2
    assert value(found, "taskrouterx_tenant_tasks", tenant="team-a", status="delayed") == 1
    assert value(found, "taskrouterx_tenant_tasks", tenant="default", status="queued") == 1
    assert ("taskrouterx_tenant_tasks", (("status", "processing"), ("tenant", "team-a"))) in found


def test_the_log_filtered_by_tenant_holds_its_tasks_and_its_own_events(
    make_client: ClientFactory,
) -> None:
    client = _keys(make_client)
    for name in ("team-a", "team-b"):
        client.post("/api/v1/tenants", json={"name": name}, headers=as_key("ops"))
    client.patch("/api/v1/tenants/team-a", json={"weight": 2}, headers=as_key("ops"))
    mine = [
        client.post("/api/v1/tasks", json=TASK, headers=as_key("a-writer")).json()["id"]
        for _ in range(3)
    ]
    client.post("/api/v1/tasks", json=TASK, headers=as_key("b-writer"))
    client.post(f"/api/v1/tasks/{mine[0]}/cancel", headers=as_key("a-writer"))
    expected = [
        ("tenant-team-a", "TenantCreated"),
        ("tenant-team-a", "TenantChanged"),
        *((f"task-{task_id}", "TaskQueued") for task_id in mine),
        (f"task-{mine[0]}", "TaskCancelled"),
    ]
    for headers, params in ((as_key("ops"), {"tenant": "team-a"}), (as_key("a-writer"), {})):
        seen, after = [], 0
        while True:
            page = client.get(
                "/api/v1/events", params={**params, "after": after, "limit": 2}, headers=headers
            ).json()
            seen += [(e["stream_id"], e["type"]) for e in page["events"]]
            if page["next_after"] >= page["head"]:
                break
            assert page["next_after"] > after
            after = page["next_after"]
        assert seen == expected
    queued = client.get(
        "/api/v1/events", params={"type": "TaskQueued"}, headers=as_key("a-writer")
    ).json()
    assert [e["stream_id"] for e in queued["events"]] == [f"task-{t}" for t in mine]
    other = client.get("/api/v1/events", params={"tenant": "team-b"}, headers=as_key("a-writer"))
    assert other.status_code == 404


def test_the_tenants_as_they_were_at_a_point_of_the_log(idle_client: TestClient) -> None:
    before = head(idle_client)
    idle_client.post("/api/v1/tenants", json={"name": "team-a", "quota": {"cpu": 4}})
    created = head(idle_client)
    idle_client.patch("/api/v1/tenants/team-a", json={"weight": 3, "quota": {"cpu": 8}})
    idle_client.patch("/api/v1/tenants/default", json={"weight": 2})

    def then(position: int) -> dict[str, dict[str, object]]:
        response = idle_client.get("/api/v1/tenants", params={"as_of": str(position)})
        assert response.status_code == 200, response.text
        return {tenant["name"]: tenant for tenant in response.json()["tenants"]}

    assert list(then(before)) == ["default"]
    at_creation = then(created)["team-a"]
    assert (at_creation["weight"], at_creation["quota"]) == (1.0, {"cpu": 4, "gpu": None})
    assert at_creation["changed_at"] is None
    assert at_creation["processing"] is None  # counts are not kept through time
    now = then(head(idle_client))
    assert (now["team-a"]["weight"], now["team-a"]["quota"]["cpu"]) == (3.0, 8)
    assert now["team-a"]["created_at"] == at_creation["created_at"]
    assert now["default"]["weight"] == 2.0
    assert then(created)["default"]["weight"] == 1.0


def test_stats_count_one_tenants_tasks_when_asked_and_always_for_a_bound_key(
    make_client: ClientFactory,
) -> None:
    client = _keys(make_client)
    for name in ("team-a", "team-b"):
        client.post("/api/v1/tenants", json={"name": name}, headers=as_key("ops"))
    for _ in range(3):
        client.post("/api/v1/tasks", json=TASK, headers=as_key("b-writer"))
    client.post("/api/v1/tasks", json=TASK, headers=as_key("a-writer"))

    def pending(**options: object) -> object:
        response = client.get("/api/v1/system/stats", **options)  # type: ignore[arg-type]
        assert response.status_code == 200, response.text
        body = response.json()
        return body.get("tenant"), body["tasks_pending"]

    assert pending(headers=as_key("ops")) == (None, 4)
    assert pending(params={"tenant": "team-b"}, headers=as_key("ops")) == ("team-b", 3)
    assert pending(headers=as_key("a-writer")) == ("team-a", 1)
    refused = [
        client.get("/api/v1/system/stats", params={"tenant": "team-b"}, headers=as_key("a-writer")),
        client.get("/api/v1/system/stats", params={"tenant": "nobody"}, headers=as_key("ops")),
        client.get(
            "/api/v1/system/stats", params={"tenant": "team-a", "as_of": "1"}, headers=as_key("ops")
        ),
    ]
    assert [r.status_code for r in refused] == [404, 404, 422]
