"""Revision 0010 on a database with tasks in it: every task is the default tenant's and
not preemptible, the counts are recounted per tenant, and the new tenants projection
starts where the tasks projection stands (it must not read a log that may be archived)."""

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from infrastructure.sql import migrate
from infrastructure.sql.engine import create_engines
from infrastructure.sql.queries import SqlReadModel
from tests.sqlite_support import sqlite_url

ROWS = [
    ("t-1", "queued", "eu-west"),
    ("t-2", "queued", "eu-west"),
    ("t-3", "processing", "us-east"),
]


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> object:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    from tests.postgres_support import fresh_database

    with fresh_database() as database:
        yield database


def test_tasks_before_tenants_are_the_default_tenants(url: str) -> None:
    command.upgrade(migrate.alembic_config(url), "0009")
    engines = create_engines(url)
    with engines.write.begin() as connection:
        for position, (task_id, status, region) in enumerate(ROWS, start=1):
            connection.execute(
                text(
                    "INSERT INTO tasks (id, type, priority, cost, region, status, metadata, "
                    "enqueued_at, correlation_id, queued_position, position) VALUES "
                    "(:id, 'order', 5, 1.0, :region, :status, '{}', "
                    "'2026-12-01T00:00:00.000000+00:00', 'c', :position, :position)"
                ),
                {"id": task_id, "region": region, "status": status, "position": position},
            )
            connection.execute(
                text(
                    "INSERT INTO task_counts (status, type, region, count) VALUES "
                    "(:status, 'order', :region, 1) ON CONFLICT (status, type, region) "
                    "DO UPDATE SET count = task_counts.count + 1"
                ),
                {"status": status, "region": region},
            )
        connection.execute(text("INSERT INTO checkpoints (name, position) VALUES ('tasks', 3)"))
    assert migrate.upgrade(engines.write) == "0012"
    with engines.read.connect() as connection:
        counts = connection.execute(
            text("SELECT status, region, tenant, count FROM task_counts ORDER BY status")
        ).all()
        checkpoint = connection.execute(
            text("SELECT position FROM checkpoints WHERE name = 'tenants'")
        ).scalar_one()
    assert [tuple(row) for row in counts] == [
        ("processing", "us-east", "default", 1),
        ("queued", "eu-west", "default", 2),
    ]
    assert checkpoint == 3
    reads = SqlReadModel(engines.read)
    tasks, total = reads.list_tasks("queued", None, None, 1, 10, "default")
    assert total == 2
    assert {(t["id"], t["tenant"], t["preemptible"]) for t in tasks} == {
        ("t-1", "default", False),
        ("t-2", "default", False),
    }
    assert reads.list_tasks(None, None, None, 1, 10, "team-a") == ([], 0)
    (default,) = reads.list_tenants()
    assert (default["name"], default["queued"], default["processing"]) == ("default", 2, 1)
    command.downgrade(migrate.alembic_config(url), "0009")
    with engines.read.connect() as connection:
        assert connection.execute(text("SELECT SUM(count) FROM task_counts")).scalar_one() == 3
    engines.dispose()
