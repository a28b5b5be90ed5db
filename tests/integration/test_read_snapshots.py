"""A read transaction sees one snapshot of the database, on SQLite and on PostgreSQL: what
it reads first and what it reads last agree even when a write commits in between. The
scheduler's and timekeeper's restore read the log head and the projections' checkpoints
that way; on PostgreSQL they once came from two moments, and a takeover under load failed
with projections "ahead" of the head it had read."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from infrastructure.sql import migrate
from infrastructure.sql.db import reading, writing
from infrastructure.sql.engine import Engines, create_engines
from infrastructure.sql.projections.runner import SAVE_CHECKPOINT, read_checkpoints
from tests.sqlite_support import sqlite_url


@pytest.fixture
def engines(backend: str, tmp_path: Path) -> Iterator[Engines]:
    if backend == "sqlite":
        url = sqlite_url(tmp_path)
        created = create_engines(url)
        migrate.upgrade(created.write)
        yield created
        created.dispose()
        return
    from tests.postgres_support import fresh_database

    with fresh_database() as url:
        created = create_engines(url)
        migrate.upgrade(created.write)
        yield created
        created.dispose()


def test_a_read_transaction_does_not_see_a_write_that_commits_during_it(
    engines: Engines,
) -> None:
    with writing(engines.write) as db:
        db.execute(SAVE_CHECKPOINT, ("tasks", 10))
    with reading(engines.read, transaction=True) as db:
        first = read_checkpoints(db)
        with writing(engines.write) as other:
            other.execute(SAVE_CHECKPOINT, ("tasks", 11))
        assert read_checkpoints(db) == first == {"tasks": 10}
    with reading(engines.read, transaction=True) as db:
        assert read_checkpoints(db) == {"tasks": 11}, "the next transaction sees it"
