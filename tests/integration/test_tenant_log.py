"""One tenant's events from the log, on SQLite and PostgreSQL: found through the task rows
they belong to, each page looking through a bounded stretch of positions."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from application.messages import MessageContext, StreamWrite
from domain.events import TenantCreated
from domain.values import NO_BORROWING, Limits
from infrastructure.sql import migrate, queries
from infrastructure.sql.engine import Engines, create_engines
from infrastructure.sql.projections.runner import ProjectionRunner
from infrastructure.sql.projections.tasks import TasksProjection
from infrastructure.sql.projections.tenants import TenantsProjection
from infrastructure.sql.queries import SqlReadModel
from tests.builders import T0, task_queued
from tests.sqlite_support import sql_store, sqlite_url

CONTEXT = MessageContext("test")


@pytest.fixture(params=["sqlite", "postgres"])
def engines(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engines]:
    if request.param == "sqlite":
        made = create_engines(sqlite_url(tmp_path))
        migrate.upgrade(made.write)
        yield made
        made.dispose()
        return
    from tests.postgres_support import fresh_database

    with fresh_database() as url:
        made = create_engines(url)
        migrate.upgrade(made.write)
        yield made
        made.dispose()


def test_a_tenants_pages_hold_its_events_in_order_and_stop_within_the_scan(
    engines: Engines, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = ProjectionRunner([TasksProjection(), TenantsProjection()], engines.write)
    store = sql_store(engines, runner)
    created = TenantCreated("team-a", 1.0, Limits(), NO_BORROWING, T0)
    store.append([StreamWrite("tenant-team-a", 0, [created])], CONTEXT)
    tenants = ["team-a", "default", "default", "default", "default", "team-a", "default"]
    for index, tenant in enumerate(tenants):
        event = task_queued(f"t{index}", tenant=tenant)
        store.append([StreamWrite(f"task-t{index}", 0, [event])], CONTEXT)
    monkeypatch.setattr(queries, "TENANT_SCAN", 3)
    reads = SqlReadModel(engines.read)
    found, after, reached = [], 0, []
    while True:
        page, end, head = reads.tenant_events_page("team-a", after, 10, None, None)
        found += [event["stream_id"] for event in page]
        reached.append(end)
        if end >= head:
            break
        after = end
    assert found == ["tenant-team-a", "task-t0", "task-t5"]
    assert reached == [3, 6, 8], "each page looks through 3 positions at most"
    page, end, _ = reads.tenant_events_page("team-a", 0, 1, None, None)
    assert ([event["position"] for event in page], end) == ([1], 1), "a full page ends at its last"
    assert reads.tenant_events_page("default", 0, 10, None, "TaskQueued")[0][0]["stream_id"] == (
        "task-t1"
    )
    assert reads.tenant_events_page("nobody", 0, 10, None, None)[0] == []
    store.close()
