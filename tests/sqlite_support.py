"""Building the real SQLite-backed pieces on a file in a temporary directory."""

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from application.commit_signal import CommitSignal
from infrastructure.clock import RandomIds, SystemClock
from infrastructure.sql import migrate
from infrastructure.sql.engine import Engines, create_engines
from infrastructure.sql.event_store import SqlEventStore
from infrastructure.sql.projections.runner import ProjectionRunner


def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'taskrouterx.db'}"


def migrated_engines(directory: Path) -> Engines:
    engines = create_engines(sqlite_url(directory))
    migrate.upgrade(engines.write)
    return engines


def sql_store(
    engines: Engines, runner: ProjectionRunner | None = None, clock: object | None = None
) -> SqlEventStore:
    return SqlEventStore(
        engines.write,
        engines.read,
        clock or SystemClock(),
        RandomIds(7),
        CommitSignal(),
        runner,  # type: ignore[arg-type]
    )


@contextmanager
def store_on(database: str, directory: Path) -> Iterator[SqlEventStore]:
    """A store on a migrated database: "sqlite" (a file in `directory`) or "postgres" (a
    fresh database on the test server, skipped when none is configured)."""
    if database == "sqlite":
        engines = migrated_engines(directory)
    else:
        from tests.postgres_support import fresh_database

        stack = ExitStack()
        url = stack.enter_context(fresh_database())
        engines = create_engines(url)
        migrate.upgrade(engines.write)
        stack.callback(engines.dispose)
        with stack:
            yield sql_store(engines)
        return
    try:
        yield sql_store(engines)
    finally:
        engines.dispose()
