"""Reading the log a page at a time after a position (the scheduler following the head,
a projection catching up) costs the page, not the log: on PostgreSQL, before the table
has statistics (a new, busy log, until autovacuum's first ANALYZE) and with the head past
them, the plan stays on the primary key. It had scanned and sorted the whole table for
every page: 2 to 5 ms a page at 15,000 events, the scheduler reading one after each
commit, and growing with the log."""

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from application.messages import MessageContext, StreamWrite
from infrastructure.sql import migrate, stored_events
from infrastructure.sql.db import Sql
from infrastructure.sql.engine import create_engines
from infrastructure.sql.event_store import SqlEventStore
from infrastructure.sql.projections.runner import READ_BATCH
from tests.builders import task_queued
from tests.postgres_support import fresh_database
from tests.sqlite_support import sql_store

CONTEXT = MessageContext("test")
ANALYZED = 15_000
AFTER_ANALYZE = 5_000


@pytest.fixture
def postgres() -> Iterator[tuple[SqlEventStore, str]]:
    with fresh_database() as url:
        engines = create_engines(url)
        migrate.upgrade(engines.write)
        yield sql_store(engines), url.replace("postgresql+psycopg", "postgresql")
        engines.dispose()


def fill(store: SqlEventStore, first: int, count: int) -> None:
    for start in range(first, first + count, 1000):
        with store.transaction():
            for index in range(start, start + 1000):
                store.append([StreamWrite(f"task-{index}", 0, [task_queued(str(index))])], CONTEXT)


def scans(plan: dict[str, Any]) -> set[str]:
    """Every node type in an EXPLAIN (FORMAT JSON) plan."""
    found = {plan["Node Type"]}
    for child in plan.get("Plans", []):
        found |= scans(child)
    return found


def test_a_page_at_the_head_is_read_by_the_index(postgres: tuple[SqlEventStore, str]) -> None:
    store, url = postgres
    fill(store, 0, ANALYZED)
    assert_pages_by_index(url, head=ANALYZED)  # no statistics yet, as on a new busy log
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("ANALYZE events")
    fill(store, ANALYZED, AFTER_ANALYZE)
    assert_pages_by_index(url, head=ANALYZED + AFTER_ANALYZE)  # the head past them

    head = ANALYZED + AFTER_ANALYZE
    assert [e.position for e in store.read_all(head - 3, 1000)] == [head - 2, head - 1, head]


def assert_pages_by_index(url: str, head: int) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        for statement in (stored_events.AFTER, READ_BATCH):
            plan = explained(connection, statement, {"after": head - 40, "limit": 1000})
            assert "Seq Scan" not in scans(plan), plan


def explained(connection: psycopg.Connection, statement: Sql, parameters: dict[str, int]) -> Any:
    row = connection.execute(f"EXPLAIN (FORMAT JSON) {statement.postgres}", parameters).fetchone()
    assert row is not None
    document = row[0] if not isinstance(row[0], str) else json.loads(row[0])
    return document[0]["Plan"]
