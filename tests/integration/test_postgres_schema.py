"""The same Alembic revisions build the schema on PostgreSQL: upgrade to head matches the
table definitions (what `alembic check` verifies), downgrade empties it, upgrade again."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from infrastructure.sql import migrate
from infrastructure.sql.schema import metadata


def test_migrations_build_the_schema_on_postgresql(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        assert migrate.upgrade(engine) == migrate.head_revision(engine)
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), metadata) == []
        command.downgrade(migrate.alembic_config(postgres_url), "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        assert migrate.upgrade(engine) == migrate.head_revision(engine)
    finally:
        engine.dispose()
