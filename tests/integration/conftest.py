from collections.abc import Iterator
from pathlib import Path

import pytest

from infrastructure.bootstrap import TaskRouter
from tests import history_copies
from tests.fakes import FakeClock
from tests.sqlite_support import sqlite_url


@pytest.fixture
def quiet_router(tmp_path: Path, clock: FakeClock) -> Iterator[TaskRouter]:
    """The real SQLite-backed system with the reactors off: tests drive it by hand."""
    router = history_copies.quiet_router(sqlite_url(tmp_path), clock)
    yield router
    router.engines.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """Each database the store runs on (PostgreSQL's tests skip, saying so, without one)."""
    return str(request.param)
