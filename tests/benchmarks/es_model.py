"""The baseline's model: a one-event aggregate for the eventsourcing library. A module of
its own, so its topic resolves in the child process that decodes the log."""

from pathlib import Path

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event


class Job(Aggregate):
    @event("Queued")
    def __init__(self, region: str, priority: int, metadata: dict) -> None:  # type: ignore[type-arg]
        self.region = region
        self.priority = priority
        self.metadata = metadata


def application(path: Path) -> Application:
    """The library's SQLite module, with its defaults (WAL; synchronous stays FULL)."""
    return Application(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}
    )
