"""Alembic environment: runs on the connection handed over in `config.attributes`, or on
an engine built from the configured URL (for the `alembic` command line)."""

from alembic import context
from sqlalchemy import Connection, create_engine

from infrastructure.sql.schema import metadata

config = context.config


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_on(connection)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as fresh:
        run_on(fresh)
    engine.dispose()
