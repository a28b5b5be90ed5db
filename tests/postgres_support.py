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
    url = created_database()
    try:
        yield url
    finally:
        dropped_database(url)


def created_database(template: str | None = None) -> str:
    """The URL of a new database on the test server: empty, or a copy of `template` (the
    URL of a database nobody is connected to)."""
    import psycopg

    server = make_url(server_url())
    name = f"taskrouterx_{uuid.uuid4().hex[:12]}"
    copied = f' TEMPLATE "{make_url(template).database}"' if template else ""
    with psycopg.connect(_admin(), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"{copied}')
    return server.set(database=name).render_as_string(hide_password=False)


def dropped_database(url: str) -> None:
    import psycopg

    with psycopg.connect(_admin(), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def _admin() -> str:
    return make_url(server_url()).set(drivername="postgresql").render_as_string(False)
