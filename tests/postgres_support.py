"""PostgreSQL for the tests: a fresh database per test on the server named by
TASKROUTERX_TEST_POSTGRES_URL (`.ci/with-postgres` starts a throwaway one for `make
test`). Without that variable the PostgreSQL tests are skipped, and say so."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy.engine import make_url

VARIABLE = "TASKROUTERX_TEST_POSTGRES_URL"
SKIPPED = (
    f"PostgreSQL tests skipped: {VARIABLE} is not set "
    "(`make test` starts a throwaway cluster when PostgreSQL is installed)"
)


def server_url() -> str:
    url = os.environ.get(VARIABLE)
    if not url:
        pytest.skip(SKIPPED)
    return url


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new, empty database on the test server; dropped afterwards."""
    import psycopg

    server = make_url(server_url())
    name = f"taskrouterx_{uuid.uuid4().hex[:12]}"
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
