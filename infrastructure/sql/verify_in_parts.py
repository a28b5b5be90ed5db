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

from application.audit.chain import GENESIS, ChainReport
from application.audit.log_start import LogStart
from application.audit.snapshot_check import CheckedSnapshot
from application.audit.split import Part, joined, verify_part
from application.audit.verify import AuditReport, Finding, Progress, verify_log
from application.errors import HistoryArchived
from domain.events import DomainEvent
from infrastructure.sql import log_start, snapshots, stored_events
from infrastructure.sql.db import reading
from infrastructure.sql.engine import create_engines

log = structlog.get_logger(__name__)

IN_PARTS_FROM = 100_000
"""Events from which a log is verified in two processes (starting one costs about half a
second)."""
FIRST_SHARE = 0.62
"""The first part's share of the log: the second part also folds the pool, assignment,
slot and submission events before it (for the pools' and the tenants' state there), so
the two take about as long (0.57 before the tenants were verified)."""


class LogReader:
    """The log as verification reads it, on a read engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def head(self) -> int:
        with reading(self._engine) as db:
            return stored_events.head(db)

    def start(self) -> LogStart:
        """Where the hot log starts (DamagedStart if its stored state was altered)."""
        with reading(self._engine) as db:
            return log_start.load(db)

    def read_checked(
        self,
        after_position: int,
        limit: int,
        up_to: int | None = None,
        types: frozenset[str] | None = None,
    ) -> stored_events.CheckedPage:
        """HistoryArchived if events after `after_position` were archived."""
        with reading(self._engine, transaction=True) as db:
            start = stored_events.bounds(db)[1]
            if after_position < start:
                raise HistoryArchived(start, after_position + 1)
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
    """The hot log verified from its start (see `verify_log`; position 0 unless older
    events were archived), in two processes when it has `in_parts_from` events
    (IN_PARTS_FROM unless given) and the machine two cores."""
    reader = LogReader(engine)
    head = reader.head()
    try:
        base = reader.start()
    except log_start.DamagedStart as damaged:
        return damaged_start(damaged, head)
    least = IN_PARTS_FROM if in_parts_from is None else in_parts_from
    if head - base.position < least or (os.cpu_count() or 1) < 2:
        return verify_log(reader, progress, base.start())
    try:
        return _in_parts(url, base, head, progress)
    except Exception as error:  # any failure of the processes: one pass still answers
        log.warning("audit.parts_failed", error=f"{type(error).__name__}: {error}")
        return verify_log(reader, progress, base.start())


def _in_parts(url: str, base: LogStart, head: int, progress: Progress | None) -> AuditReport:
    split = base.position + int((head - base.position) * FIRST_SHARE)
    context = multiprocessing.get_context("spawn")
    done = [context.RawValue("q", 0) for _ in range(2)]
    with ProcessPoolExecutor(2, context, initializer=_share, initargs=(done,)) as processes:
        parts: list[Future[Part]] = [
            processes.submit(_part, url, base.position, split, 0),
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


def damaged_start(damaged: log_start.DamagedStart, head: int) -> AuditReport:
    """The report on a log whose stored start cannot be trusted: nothing after it can be
    checked from it."""
    problem = str(damaged)
    return AuditReport(
        head=head,
        mismatch_count=1,
        mismatches=[Finding(damaged.position, "log_start", problem)],
        chain=ChainReport(0, GENESIS, damaged.position + 1, problem),
    )


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

        reader = LogReader(engines.read)
        return verify_part(reader, after, up_to, checked, reader.start())
    finally:
        engines.dispose()
