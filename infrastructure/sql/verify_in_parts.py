"""A full verification of a long log on two cores: two processes, each opening the
database itself, verify the two parts of the log (`application.audit.split`) while this
one shows their progress and joins their findings. A short log or a one-core machine is
verified in one pass here, as is any log whose parts fail to run (the reason is
logged)."""

import gc
import multiprocessing
import os
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from typing import Any

import structlog
from sqlalchemy import Engine

from application.audit.snapshot_check import CheckedSnapshot
from application.audit.split import Part, joined, verify_part
from application.audit.verify import AuditReport, Progress, verify_log
from domain.events import DomainEvent
from infrastructure.sql import snapshots, stored_events
from infrastructure.sql.db import reading
from infrastructure.sql.engine import create_engines

log = structlog.get_logger(__name__)

IN_PARTS_FROM = 100_000
"""Events from which a log is verified in two processes (starting one costs about half a
second)."""
FIRST_SHARE = 0.57
"""The first part's share of the log: the second part also folds the pool events before
it, so the two take about as long."""


class LogReader:
    """The log as verification reads it, on a read engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def head(self) -> int:
        with reading(self._engine) as db:
            return stored_events.head(db)

    def read_checked(
        self,
        after_position: int,
        limit: int,
        up_to: int | None = None,
        types: frozenset[str] | None = None,
    ) -> stored_events.CheckedPage:
        with reading(self._engine) as db:
            return stored_events.read_checked(db, after_position, limit, up_to, types)

    def snapshots(self, after_position: int, up_to: int) -> list[CheckedSnapshot]:
        with reading(self._engine) as db:
            return snapshots.checked(db, after_position, up_to)

    def stream_events(self, stream_id: str, up_to_version: int) -> list[DomainEvent]:
        with reading(self._engine) as db:
            return stored_events.stream_events(db, stream_id, 0, up_to_version)


def verify(
    url: str,
    engine: Engine,
    progress: Progress | None = None,
    in_parts_from: int | None = None,
) -> AuditReport:
    """The whole log verified from position 0 (see `verify_log`), in two processes when
    it has `in_parts_from` events (IN_PARTS_FROM unless given) and the machine two cores."""
    reader = LogReader(engine)
    head = reader.head()
    least = IN_PARTS_FROM if in_parts_from is None else in_parts_from
    if head < least or (os.cpu_count() or 1) < 2:
        return verify_log(reader, progress)
    try:
        return _in_parts(url, head, progress)
    except Exception as error:  # any failure of the processes: one pass still answers
        log.warning("audit.parts_failed", error=f"{type(error).__name__}: {error}")
        return verify_log(reader, progress)


def _in_parts(url: str, head: int, progress: Progress | None) -> AuditReport:
    split = int(head * FIRST_SHARE)
    context = multiprocessing.get_context("spawn")
    done = [context.RawValue("q", 0) for _ in range(2)]
    with ProcessPoolExecutor(2, context, initializer=_share, initargs=(done,)) as processes:
        parts: list[Future[Part]] = [
            processes.submit(_part, url, 0, split, 0),
            processes.submit(_part, url, split, head, 1),
        ]
        while True:
            finished, running = wait(parts, timeout=0.25, return_when=FIRST_EXCEPTION)
            if progress is not None:
                progress("verifying", sum(counter.value for counter in done), head)
            if not running or any(part.exception() for part in finished):
                break
        first, second = (part.result() for part in parts)
    return joined(first, second)


_done: list[Any] = []
"""In a part's process: the shared counters of events checked, one per part."""


def _share(done: list[Any]) -> None:
    _done[:] = done


def _part(url: str, after: int, up_to: int, index: int) -> Part:
    """One part, in its own process (which does nothing else: its collector runs less
    often, as the events of a page are short-lived)."""
    gc.set_threshold(20_000, 50, 50)
    engines = create_engines(url)
    try:

        def checked(count: int) -> None:
            _done[index].value = count

        return verify_part(LogReader(engines.read), after, up_to, checked)
    finally:
        engines.dispose()
