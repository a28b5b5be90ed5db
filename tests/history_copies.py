"""Random histories built once per test process and copied for each test that starts from
one: a SQLite file is copied, a PostgreSQL database is created from the built one as its
template. Building 1,500 events through the command path takes seconds on PostgreSQL; a
copy takes milliseconds. The copy is opened as a restarted service would open it: a new
router, and a scheduler and timekeeper restored from the store."""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from infrastructure.bootstrap import TaskRouter, bootstrap
from infrastructure.clock import RandomIds
from infrastructure.settings import Settings
from infrastructure.sql import migrate
from tests.fakes import FakeClock
from tests.histories import random_history
from tests.postgres_support import created_database, dropped_database
from tests.sqlite_support import sqlite_url


def quiet_router(url: str, clock: FakeClock, seed: int = 3) -> TaskRouter:
    """A router on `url` with no background work: the test drives every command."""
    settings = Settings(database_url=url, scheduler="off", simulator="off", id_seed=seed)
    router = bootstrap(settings, clock=clock, ids=RandomIds(seed))
    migrate.upgrade(router.engines.write)
    return router


@dataclass(frozen=True)
class Built:
    url: str
    ended_at: datetime


class HistoryCopies:
    """Each (backend, events, seed) history is built on first use, then copied."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._built: dict[tuple[str, int, int], Built] = {}
        self._templates: list[str] = []

    @contextmanager
    def copy(self, backend: str, events: int, seed: int, into: Path, clock: FakeClock
             ) -> Iterator[str]:  # fmt: skip
        """The URL of a fresh copy of the history, removed afterwards; `clock` is set to
        the moment the history ended."""
        key = (backend, events, seed)
        if key not in self._built:
            self._built[key] = self._build(backend, events, seed)
        built = self._built[key]
        clock.current = built.ended_at
        if backend == "sqlite":
            source = Path(str(make_url(built.url).database))
            for file in source.parent.glob(source.name + "*"):
                shutil.copyfile(file, into / file.name)
            yield sqlite_url(into)
            return
        url = created_database(template=built.url)
        try:
            yield url
        finally:
            dropped_database(url)

    @contextmanager
    def router(self, backend: str, events: int, seed: int, into: Path, clock: FakeClock
               ) -> Iterator[TaskRouter]:  # fmt: skip
        """A quiet router on a fresh copy of the history (see `copy`)."""
        with self.copy(backend, events, seed, into, clock) as url:
            router = quiet_router(url, clock, seed=4)
            try:
                yield router
            finally:
                router.engines.dispose()

    def _build(self, backend: str, events: int, seed: int) -> Built:
        if backend == "sqlite":
            folder = self._directory / f"sqlite-{events}-{seed}"
            folder.mkdir()
            url = sqlite_url(folder)
        else:
            url = created_database()
            self._templates.append(url)
        clock = FakeClock()
        router = quiet_router(url, clock)
        try:
            random_history(router, clock, events=events, seed=seed)
        finally:
            router.engines.dispose()  # a template database takes no copy while in use
        return Built(url, clock.now())

    def drop(self) -> None:
        for url in self._templates:
            dropped_database(url)


@contextmanager
def copies(directory: Path) -> Iterator[HistoryCopies]:
    built = HistoryCopies(directory)
    try:
        yield built
    finally:
        built.drop()
