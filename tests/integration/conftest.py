from collections.abc import Iterator
from pathlib import Path

import pytest

from infrastructure.bootstrap import TaskRouter, bootstrap
from infrastructure.clock import RandomIds
from infrastructure.settings import Settings
from infrastructure.sql import migrate
from tests.fakes import FakeClock
from tests.sqlite_support import sqlite_url


@pytest.fixture
def quiet_router(tmp_path: Path, clock: FakeClock) -> Iterator[TaskRouter]:
    """The real SQLite-backed system with the reactors off: tests drive it by hand."""
    settings = Settings(
        database_url=sqlite_url(tmp_path), scheduler="off", simulator="off", id_seed=3
    )
    router = bootstrap(settings, clock=clock, ids=RandomIds(3))
    migrate.upgrade(router.engines.write)
    yield router
    router.engines.dispose()
