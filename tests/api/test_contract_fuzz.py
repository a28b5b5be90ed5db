"""Schemathesis against the app's own OpenAPI schema, in process over ASGI, every
operation: no server errors, and every status, content type and body the API answers is
declared in the schema; data the schema forbids is rejected, a missing key included (the
app has an API key, which every other case presents)."""

import os
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from infrastructure.bootstrap import bootstrap
from infrastructure.settings import Settings
from interfaces.http.app import create_app
from interfaces.http.middleware.auth import ApiKey, KeyRing, Permission, digest
from tests.sqlite_support import sqlite_url

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


KEY = "fuzz-admin-key"


def app_under_test():  # type: ignore[no-untyped-def]
    """The real app on a real SQLite file, with one API key (admin); schemathesis runs its
    lifespan (the service)."""
    directory = Path(tempfile.mkdtemp(prefix="taskrouterx-fuzz-"))
    settings = Settings(database_url=sqlite_url(directory), simulator="off", sim_seed=1)
    keys = KeyRing({digest(KEY): ApiKey("fuzz", frozenset({Permission.ADMIN}))})
    return create_app(
        bootstrap(settings),
        settings.cors_origins,
        settings.max_body_bytes,
        keys=keys,
        allowed_hosts=frozenset({"testserver", "localhost"}),  # schemathesis's ASGI host
    )


schema = schemathesis.openapi.from_asgi("/openapi.json", app_under_test()).exclude(
    path="/api/v1/events/stream"
)
"""The event stream never ends by design, so a call that waits for a whole body cannot
check it; tests/e2e/test_event_stream.py covers it against the real server."""


@pytest.mark.serial
@schema.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_its_contract(case: schemathesis.Case) -> None:
    # Under pytest-xdist schemathesis runs one operation and passes: refuse to run there.
    assert "PYTEST_XDIST_WORKER" not in os.environ, "run the fuzzer in one process (-m serial)"
    # Commands without a body still declare JSON (the request guard's rule), so that the
    # fuzzer reaches them rather than their 415.
    headers = {"Content-Type": "application/json"} if not case.operation.body else {}
    # Where the case carries a key (anything but a case about a missing key), the real one.
    if "Authorization" in (case.headers or {}):
        headers["Authorization"] = f"Bearer {KEY}"
    case.call_and_validate(headers=headers or None, checks=CHECKS)
