import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from application.ports import Clock
from infrastructure.bootstrap import bootstrap
from infrastructure.settings import Settings
from interfaces.http.app import create_app
from interfaces.http.middleware.auth import KeyRing
from interfaces.http.middleware.rate_limit import RateLimiter
from interfaces.http.middleware.request_guard import allowed_hosts_for
from tests.sqlite_support import sqlite_url

ClientFactory = Callable[..., TestClient]


LOCAL_CLIENT: dict[str, Any] = {
    "base_url": "http://localhost",
    "headers": {"Content-Type": "application/json"},
}
"""A client as the request guard expects one: on a local host name, commands as JSON."""


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[ClientFactory]:
    """The real app on a real SQLite file; the lifespan starts writer and reactors."""
    clients: list[TestClient] = []

    def make(clock: Clock | None = None, **overrides: Any) -> TestClient:
        settings = Settings(
            database_url=sqlite_url(tmp_path),
            simulator="off",
            sim_seed=1,
            **overrides,
        )
        keys = KeyRing.load(settings.api_keys, settings.api_keys_file)
        client = TestClient(
            create_app(
                bootstrap(settings, clock),
                settings.cors_origins,
                settings.max_body_bytes,
                keys,
                RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst),
                allowed_hosts=allowed_hosts_for(settings.host, settings.allowed_hosts),
                heavy_request_s=settings.heavy_request_s,
            ),
            **LOCAL_CLIENT,
        )
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    """Scheduler on, simulator off: assigned tasks stay processing until told otherwise."""
    return make_client()


@pytest.fixture
def idle_client(make_client: ClientFactory) -> TestClient:
    """Scheduler and simulator off: submitted tasks stay queued."""
    return make_client(scheduler="off")


def wait_until(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def head(client: TestClient, headers: dict[str, str] | None = None) -> int:
    events = client.get("/api/v1/events", params={"limit": 1}, headers=headers)
    return int(events.json()["head"])


TASK = {"type": "order", "priority": 5, "cost": 1.5, "region": "us-east"}


def verified(client: TestClient, **headers: str) -> dict[str, Any]:
    """The continuous verification's report once it has caught up with the log."""

    def caught_up() -> dict[str, Any] | None:
        response = client.get("/api/v1/audit/verify", headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body if body["behind"] == 0 else None

    report: dict[str, Any] = wait_until(caught_up)
    return report


def verified_from_the_start(client: TestClient) -> dict[str, Any]:
    """A full verification from position 0 (POST), polled until it is done."""
    started = client.post("/api/v1/audit/verify")
    assert started.status_code == 202, started.text
    location = started.headers["location"]

    def finished() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(location).json()
        return job if job["status"] != "running" else None

    job: dict[str, Any] = wait_until(finished)
    assert job["status"] == "done", job
    report: dict[str, Any] = job["report"]
    return report
