"""API keys and scopes through the real app: 401 without a known key, 403 without the
scope, both as problem details; health and docs stay open; keys come inline or from a
file; idempotency keys are per API key."""

import json
import re
from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from interfaces.http.app import ROUTERS
from interfaces.http.middleware.auth import (
    AccessRules,
    InvalidKeyConfiguration,
    KeyRing,
    Permission,
    UndeclaredScope,
    digest,
)
from interfaces.http.middleware.rate_limit import RateLimiter
from tests.api.conftest import TASK, ClientFactory

KEYS = {
    "reader": ["tasks:read"],
    "writer": ["tasks:read", "tasks:write"],
    "pools": ["pools:admin"],
    "root": ["admin"],
}


def entries() -> str:
    return json.dumps(
        [{"name": name, "sha256": digest(f"key-{name}"), "scopes": s} for name, s in KEYS.items()]
    )


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer key-{name}"}


@pytest.fixture
def secured(make_client: ClientFactory) -> TestClient:
    return make_client(scheduler="off", api_keys=entries())


def test_no_key_or_an_unknown_key_is_401(secured: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"X-API-Key": "nope"}):
        response = secured.get("/api/v1/tasks", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "nope" not in response.text, "a presented key is never echoed"


def test_a_key_without_the_scope_is_403(secured: TestClient) -> None:
    refused = secured.post("/api/v1/tasks", json=TASK, headers=bearer("reader"))
    assert refused.status_code == 403
    assert refused.json()["detail"] == "API key 'reader' lacks the scope tasks:write"
    assert secured.get("/api/v1/tasks", headers=bearer("reader")).status_code == 200
    switch = {"algorithm": "min_cost"}
    assert (
        secured.post("/api/v1/algorithms/switch", json=switch, headers=bearer("writer")).status_code
        == 403
    )
    assert (
        secured.post("/api/v1/algorithms/switch", json=switch, headers=bearer("root")).status_code
        == 200
    )
    pool = {"name": "p", "region": "r", "resource_type": "cpu", "cost_per_unit": 1, "capacity": 1}
    assert secured.post("/api/v1/workers", json=pool, headers=bearer("writer")).status_code == 403
    assert secured.post("/api/v1/workers", json=pool, headers=bearer("pools")).status_code == 201
    assert secured.get("/api/v1/audit/verify", headers=bearer("writer")).status_code == 403
    assert secured.get("/api/v1/audit/verify", headers=bearer("root")).status_code == 200


def test_both_headers_carry_a_key_and_probes_stay_open(secured: TestClient) -> None:
    assert secured.post("/api/v1/tasks", json=TASK, headers=bearer("writer")).status_code == 201
    assert (
        secured.post("/api/v1/tasks", json=TASK, headers={"X-API-Key": "key-writer"}).status_code
        == 201
    )
    assert secured.get("/api/v1/health").status_code == 200
    assert secured.get("/openapi.json").status_code == 200
    assert secured.get("/docs").status_code == 200
    assert secured.get("/").status_code == 200, "the dashboard's page asks for the key itself"
    assert secured.get("/dashboard/js/api.js").status_code == 200
    assert secured.get("/dashboard").status_code == 200, "led to the page, with no key"


def test_idempotency_keys_belong_to_their_api_key(secured: TestClient) -> None:
    one = secured.post(
        "/api/v1/tasks", json=TASK, headers={**bearer("writer"), "Idempotency-Key": "k"}
    )
    other = secured.post(
        "/api/v1/tasks", json=TASK, headers={**bearer("root"), "Idempotency-Key": "k"}
    )
    assert one.status_code == other.status_code == 201
    assert one.json()["id"] != other.json()["id"]


def test_keys_load_from_a_file(make_client: ClientFactory, tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(entries())
    client = make_client(scheduler="off", api_keys_file=keys_file)
    assert client.get("/api/v1/tasks").status_code == 401
    assert client.get("/api/v1/tasks", headers=bearer("reader")).status_code == 200


@pytest.mark.parametrize(
    "inline",
    [
        "not json",
        '[{"name": "x"}]',
        '[{"sha256": "' + "a" * 64 + '", "scopes": ["root"]}]',
        '[{"name": "' + "n" * 65 + '", "sha256": "' + "a" * 64 + '", "scopes": ["admin"]}]',
    ],
)
def test_a_bad_key_configuration_is_refused(inline: str) -> None:
    with pytest.raises(InvalidKeyConfiguration, match="API keys"):
        KeyRing.load(inline, None)


def test_each_key_has_its_own_rate_limit(make_client: ClientFactory) -> None:
    client = make_client(
        scheduler="off", api_keys=entries(), rate_limit_per_s=0.01, rate_limit_burst=3
    )
    answers = [client.get("/api/v1/tasks", headers=bearer("reader")).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    limited = client.get("/api/v1/tasks", headers=bearer("reader"))
    assert limited.headers["content-type"] == "application/problem+json"
    assert int(limited.headers["retry-after"]) >= 1
    assert client.get("/api/v1/tasks", headers=bearer("writer")).status_code == 200
    assert client.get("/api/v1/health").status_code == 200, "probes are not limited"


def test_the_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=2, clock=lambda: now[0])
    assert [limiter.wait("k") for _ in range(3)] == [0, 0, 1]
    now[0] = 0.5
    assert limiter.wait("k") == 0
    assert limiter.wait("k") == 1
    now[0] = 10.0
    assert [limiter.wait("k") for _ in range(3)] == [0, 0, 1], "never above the burst"


def test_every_route_declares_its_scope_and_the_schema_shows_it(client: TestClient) -> None:
    rules = AccessRules.of(ROUTERS)  # raises if a route declares none
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            concrete = re.sub(r"\{[^}]+\}", "x", path)
            needed = rules.required(method.upper(), concrete)
            shown = operation.get("security")
            if needed is None:
                assert shown is None, f"{method} {path} needs no key"
            else:
                assert shown == [{"apiKey": [str(needed)]}], f"{method} {path}"
    assert rules.required("POST", "/api/v1/tasks") == Permission.TASKS_WRITE
    assert rules.required("POST", "/api/v1/tasks/x/complete") == Permission.TASKS_WORK
    assert rules.required("GET", "/api/v1/audit/verify") == Permission.ADMIN
    assert rules.required("HEAD", "/api/v1/health") is None
    assert rules.required("GET", "/dashboard/js/main.js") is None
    assert rules.required("GET", "/api/v1/nothing-here") == Permission.ADMIN


def test_a_route_without_a_declared_scope_stops_the_app_from_being_made() -> None:
    router = APIRouter()

    @router.get("/forgotten")
    def forgotten() -> None: ...

    with pytest.raises(UndeclaredScope, match="/forgotten declares no scope"):
        AccessRules.of([router])
