"""SQLite specifics: the schema comes from Alembic and matches the code's tables; the
write path is durable (WAL, synchronous=FULL) and takes the write lock up front."""

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from application.errors import StoreUnavailable
from infrastructure.sql import migrate
from infrastructure.sql.db import sql
from infrastructure.sql.engine import WAL_LIMIT, create_engines
from infrastructure.sql.queries import task_view
from infrastructure.sql.schema import metadata, tasks
from infrastructure.sql.write_connection import WriteConnection
from tests.sqlite_support import migrated_engines, sqlite_url


def test_migrated_schema_matches_the_table_definitions(tmp_path: Path) -> None:
    engines = migrated_engines(tmp_path)
    with engines.write.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    engines.dispose()
    assert differences == []


def test_upgrade_is_idempotent_and_downgrade_empties(tmp_path: Path) -> None:
    engines = migrated_engines(tmp_path)
    assert migrate.upgrade(engines.write) == migrate.head_revision(engines.write) == "0012"
    command.downgrade(migrate.alembic_config(sqlite_url(tmp_path)), "base")
    assert set(inspect(engines.read).get_table_names()) == {"alembic_version"}
    engines.dispose()


def test_write_connections_are_durable(tmp_path: Path) -> None:
    engines = migrated_engines(tmp_path)
    with engines.write.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000
    engines.dispose()


def test_a_write_ahead_log_grown_behind_a_long_read_shrinks_once_the_read_ends(
    tmp_path: Path,
) -> None:
    engines = migrated_engines(tmp_path)
    wal = tmp_path / "taskrouterx.db-wal"
    blob = b"x" * 100_000
    with engines.write.connect() as connection:
        connection.execute(text("CREATE TABLE filler (data BLOB)"))
        connection.commit()

    def fill(times: int) -> None:
        with engines.write.connect() as connection:
            for _ in range(times):
                connection.execute(text("INSERT INTO filler VALUES (:d)"), {"d": blob})
                connection.commit()

    with engines.read.connect() as reader:  # holds its snapshot: no checkpoint gets past it
        reader.execute(text("SELECT COUNT(*) FROM events")).scalar()
        fill(300)
        grown = wal.stat().st_size
    fill(20)  # a checkpoint completes, and the next write starts the log over
    assert grown > 3 * WAL_LIMIT
    assert wal.stat().st_size <= WAL_LIMIT, (wal.stat().st_size, grown)
    engines.dispose()


def test_write_transactions_take_the_lock_immediately(tmp_path: Path) -> None:
    """A second writer cannot even begin while the first holds BEGIN IMMEDIATE."""
    engines = create_engines(sqlite_url(tmp_path), busy_timeout_ms=50)
    migrate.upgrade(engines.write)
    first = engines.write.connect()
    first.begin()
    second = engines.write.connect()
    try:
        second.begin()
        raised = False
    except Exception as error:
        raised = "locked" in str(error)
    finally:
        first.rollback()
        first.close()
        second.close()
        engines.dispose()
    assert raised


def test_the_store_write_connection_is_durable_and_rolls_back_what_raised(
    tmp_path: Path,
) -> None:
    engines = create_engines(sqlite_url(tmp_path), busy_timeout_ms=50)
    migrate.upgrade(engines.write)
    writes = WriteConnection(engines.write)
    with writes.transaction() as db:
        assert db.execute(sql("PRAGMA synchronous")).fetchone() == (2,)  # FULL
        db.execute(sql("INSERT INTO checkpoints VALUES ('kept', 1)"))

    def rejected_command() -> None:
        with writes.transaction() as db:
            db.execute(sql("INSERT INTO checkpoints VALUES ('undone', 2)"))
            raise ValueError("the command was rejected")

    with pytest.raises(ValueError, match="rejected"):
        rejected_command()
    with engines.read.connect() as connection:
        names = connection.execute(text("SELECT name FROM checkpoints")).scalars()
        assert list(names) == ["kept"]
    writes.close()
    engines.dispose()


def test_a_locked_database_is_reported_unavailable_and_the_connection_recovers(
    tmp_path: Path,
) -> None:
    engines = create_engines(sqlite_url(tmp_path), busy_timeout_ms=50)
    migrate.upgrade(engines.write)
    writes = WriteConnection(engines.write)
    other = engines.write.connect()
    other.begin()
    with pytest.raises(StoreUnavailable, match="locked"), writes.transaction():
        pass
    other.rollback()
    other.close()
    with writes.transaction() as db:
        db.execute(sql("INSERT INTO checkpoints VALUES ('after', 1)"))
    writes.close()
    engines.dispose()


def test_a_task_row_written_before_0007_keeps_its_pool(tmp_path: Path) -> None:
    """0007 renames the tasks table's worker_id column to pool_name; the rows keep their
    values, and the API still answers them as worker_id."""
    url = sqlite_url(tmp_path)
    command.upgrade(migrate.alembic_config(url), "0006")
    with sqlite3.connect(tmp_path / "taskrouterx.db") as db:
        db.execute(
            "INSERT INTO tasks (id, type, priority, cost, region, status, metadata, enqueued_at,"
            " pool_id, worker_id, correlation_id, queued_position, position) VALUES"
            " ('t-1', 'order', 5, 1.0, 'eu-west', 'processing', '{}',"
            " '2026-12-01T00:00:00.000000+00:00', 'p-1', 'eu-west-cpu-pool', 'c', 1, 2)"
        )
    engines = create_engines(url)
    assert migrate.upgrade(engines.write) == "0012"
    with engines.read.connect() as connection:
        row = connection.execute(select(tasks).where(tasks.c.id == "t-1")).one()
    engines.dispose()
    assert row.pool_name == "eu-west-cpu-pool"
    assert task_view(row._mapping)["worker_id"] == "eu-west-cpu-pool"
