"""The request guard with raw requests: what a web page on another site, or a DNS-rebound
name, could make a browser send to a local server is refused and writes nothing, with
and without API keys."""

import hashlib
import json

from fastapi.testclient import TestClient

from tests.api.conftest import TASK, ClientFactory, head


def pool_id(client: TestClient) -> str:
    return str(client.get("/api/v1/workers").json()["worker_pools"][0]["id"])


def test_a_command_sent_as_text_plain_is_refused_415_and_writes_nothing(
    make_client: ClientFactory,
) -> None:
    client = make_client(scheduler="off")
    before = head(client)
    refused = client.post(
        "/api/v1/tasks", content=json.dumps(TASK), headers={"Content-Type": "text/plain"}
    )
    assert refused.status_code == 415
    assert refused.headers["content-type"] == "application/problem+json"
    assert "application/json" in refused.json()["detail"]
    form = client.post(
        "/api/v1/tasks",
        content=b"a=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 415
    assert head(client) == before


def test_bodiless_commands_need_the_json_type_too(make_client: ClientFactory) -> None:
    client = make_client(scheduler="off")
    pool = pool_id(client)
    before = head(client)
    for path in (f"/api/v1/workers/{pool}/drain", "/api/v1/projections/tasks/rebuild"):
        bare = client.post(path, headers={"Content-Type": ""})
        assert bare.status_code == 415, path
    assert head(client) == before
    assert client.get(f"/api/v1/workers/{pool}").json()["draining"] is False
    assert client.get("/api/v1/projections").json()
    drained = client.post(f"/api/v1/workers/{pool}/drain")  # the client's JSON type
    assert drained.status_code == 200
    assert drained.json()["draining"] is True


def test_commands_from_another_origin_are_refused_403(make_client: ClientFactory) -> None:
    client = make_client(scheduler="off")
    pool = pool_id(client)
    before = head(client)
    for origin in ("http://attacker.example", "null", "http://localhost:9999"):
        refused = client.post("/api/v1/tasks", json=TASK, headers={"Origin": origin})
        assert refused.status_code == 403, origin
        assert refused.json()["type"].endswith("/origin-not-allowed")
        drain = client.post(f"/api/v1/workers/{pool}/drain", headers={"Origin": origin})
        assert drain.status_code == 403, origin
        assert client.delete("/api/v1/tasks/x", headers={"Origin": origin}).status_code == 403
    assert head(client) == before
    own = client.post("/api/v1/tasks", json=TASK, headers={"Origin": "http://localhost"})
    assert own.status_code == 201, "the server's own pages"
    listed = client.post("/api/v1/tasks", json=TASK, headers={"Origin": "http://localhost:3000"})
    assert listed.status_code == 201, "an origin in CORS_ORIGINS"
    read = client.get("/api/v1/tasks", headers={"Origin": "http://attacker.example"})
    assert read.status_code == 200, "reads are CORS's business: the browser keeps the answer"


def test_a_host_not_allowed_is_refused_400_on_every_path(make_client: ClientFactory) -> None:
    client = make_client(scheduler="off")
    for path in ("/api/v1/tasks", "/", "/api/v1/health", "/metrics"):
        refused = client.get(path, headers={"Host": "attacker.example"})
        assert refused.status_code == 400, path
        assert refused.json()["type"].endswith("/host-not-allowed")
    assert client.get("/api/v1/tasks", headers={"Host": "127.0.0.1:8000"}).status_code == 200
    assert client.get("/api/v1/tasks", headers={"Host": "[::1]:8000"}).status_code == 200
    opened = make_client(scheduler="off", allowed_hosts=["tasks.internal"])
    assert opened.get("/", headers={"Host": "tasks.internal:8000"}).status_code == 200
    assert opened.get("/", headers={"Host": "localhost"}).status_code == 400


def test_the_same_rules_hold_with_api_keys(make_client: ClientFactory) -> None:
    key = "k-guard-0123456789"
    entry = {"name": "ops", "sha256": hashlib.sha256(key.encode()).hexdigest(),
             "scopes": ["admin"]}  # fmt: skip
    client = make_client(scheduler="off", api_keys=json.dumps([entry]))
    auth = {"X-API-Key": key}
    before = head(client, headers=auth)
    text = client.post("/api/v1/tasks", content=json.dumps(TASK),
                       headers={**auth, "Content-Type": "text/plain"})  # fmt: skip
    assert text.status_code == 415
    crossed = client.post("/api/v1/tasks", json=TASK,
                          headers={**auth, "Origin": "http://attacker.example"})  # fmt: skip
    assert crossed.status_code == 403
    rebound = client.get("/api/v1/tasks", headers={**auth, "Host": "attacker.example"})
    assert rebound.status_code == 400
    assert head(client, headers=auth) == before
    assert client.post("/api/v1/tasks", json=TASK, headers=auth).status_code == 201
