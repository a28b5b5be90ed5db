"""Building the real SQLite-backed pieces on a file in a temporary directory."""

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
