"""SQLite specifics: the schema comes from Alembic and matches the code's tables; the
write path is durable (WAL, synchronous=FULL) and takes the write lock up front."""

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from application.errors import StoreUnavailable
from infrastructure.sql import migrate
from infrastructure.sql.engine import create_engines
from infrastructure.sql.schema import metadata
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
    assert migrate.upgrade(engines.write) == migrate.head_revision(engines.write) == "0006"
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
        assert db.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
        db.execute("INSERT INTO checkpoints VALUES ('kept', 1)")

    def rejected_command() -> None:
        with writes.transaction() as db:
            db.execute("INSERT INTO checkpoints VALUES ('undone', 2)")
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
        db.execute("INSERT INTO checkpoints VALUES ('after', 1)")
    writes.close()
    engines.dispose()
