"""Time travel: the read models exactly as they were at a log position, folded from the
log itself through the read models' folds (the projections only know the present).

A task is its stream folded up to the position. Pools and stats are folded from per-block
summaries: the log is append-only, so what a full block of BLOCK positions contributes
never changes. Each block is folded once (the sums its events add: task statuses, stats
counters, pool loads; the pools it registers and the last value it sets in each of their
columns) and kept for the life of the process; a query combines the cached blocks and
folds only the part of the last block it needs. `warm()` folds every full block ahead of
the first query.
"""

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine

from application import views
from application.read_models import pools as pool_rows
from application.read_models import stats as stats_fold
from application.read_models import tenants as tenant_rows
from application.read_models.record import Add, Recorded, Row
from domain.events import AlgorithmSwitched
from domain.scheduler_config import SCHEDULER_STREAM
from domain.task import status_move, task_stream
from domain.tenant import DEFAULT_TENANT
from domain.values import Algorithm, TaskStatus
from infrastructure.archive.archived_log import ArchivedLog
from infrastructure.codec import decode
from infrastructure.sql import log_start, stored_events
from infrastructure.sql.db import Db, reading, sql
from infrastructure.sql.projections.runner import read_records
from infrastructure.sql.queries import THROUGHPUT_WINDOW_S, archived_start, stats_view
from infrastructure.sql.timestamps import iso, parse

BLOCK = 10_000
SWITCHED = AlgorithmSwitched.type_name()


@dataclass
class Summary:
    """What a stretch of the log adds to the read models time travel serves."""

    sums: Counter[str] = field(default_factory=Counter)
    """'status.<s>' (tasks in each status), the stats counters, 'load.<pool id>'."""
    registered: list[Row] = field(default_factory=list)
    """Pools registered in the stretch, as registered."""
    settings: dict[tuple[str, str], Any] = field(default_factory=dict)
    """(pool id, column): the last value the stretch set."""
    algorithm: str | None = None
    """The algorithm the stretch switched to last (None: no switch)."""
    tenants: dict[str, Row] = field(default_factory=dict)
    """The tenant rows the stretch set (each tenant event sets its whole row but the time
    it was created, which only its creation sets)."""

    def add(self, record: Recorded) -> None:
        if record.type == SWITCHED:
            self.algorithm = record.data["algorithm"]
        if record.type in tenant_rows.TYPES:
            row = tenant_rows.row_of(record)
            self.tenants[row["name"]] = {**self.tenants.get(row["name"], {}), **row}
            return
        moved = status_move(record.type, record.data)
        if moved is not None:
            self._move(*moved)
        self.sums.update(stats_fold.changes(record).counters)
        if record.type == "WorkerPoolRegistered":
            self.registered.append(pool_rows.start(record))
            return
        for column, value in pool_rows.changes(record).items():
            pool_id = record.data["pool_id"]
            if isinstance(value, Add):
                self.sums[f"{column}.{pool_id}"] += value
            else:
                self.settings[(pool_id, column)] = value

    def _move(self, allowed: frozenset[TaskStatus | None], to: TaskStatus) -> None:
        """A task moved from the one status the event allows to `to` (None: a new task)."""
        (before,) = allowed
        if before is to:
            return
        self.sums[f"status.{to}"] += 1
        if before is not None:
            self.sums[f"status.{before}"] -= 1

    def then(self, later: "Summary") -> "Summary":
        sums = Counter(self.sums)
        sums.update(later.sums)  # not `+`, which would drop a block's negative changes
        tenants = dict(self.tenants)
        for name, row in later.tenants.items():
            tenants[name] = {**tenants.get(name, {}), **row}
        return Summary(
            sums,
            [*self.registered, *later.registered],
            {**self.settings, **later.settings},
            later.algorithm or self.algorithm,
            tenants,
        )

    def encoded(self) -> str:
        return orjson.dumps(
            {
                "sums": dict(self.sums),
                "registered": self.registered,
                "settings": [
                    [pool, column, value] for (pool, column), value in self.settings.items()
                ],
                "algorithm": self.algorithm,
                "tenants": list(self.tenants.values()),
            }
        ).decode()

    @classmethod
    def decoded(cls, text: str) -> "Summary":
        data = orjson.loads(text)
        return cls(
            Counter(data["sums"]),
            list(data["registered"]),
            {(pool, column): value for pool, column, value in data["settings"]},
            data["algorithm"],
            {row["name"]: row for row in data.get("tenants", [])},  # absent before tenants
        )

    def pools(self) -> list[dict[str, Any]]:
        rows = {row["pool_id"]: dict(row) for row in self.registered}
        for (pool_id, column), value in self.settings.items():
            if pool_id in rows:
                rows[pool_id][column] = value
        for pool_id, row in rows.items():
            row["current_load"] = self.sums[f"current_load.{pool_id}"]
        return [pool_rows.view(row) for row in rows.values()]

    def tenant_views(self) -> list[dict[str, Any]]:
        """Each tenant as it stood (the default one first if never changed), with its
        preempted tasks; its task counts are not kept through time (None)."""
        found = [tenant_rows.view(row) for _, row in sorted(self.tenants.items())]
        if DEFAULT_TENANT not in self.tenants:
            found.insert(0, tenant_rows.default_view())
        unknown = dict.fromkeys(tenant_rows.COUNTED)
        return [
            {**tenant, **unknown,
             "preempted": self.sums[f"{stats_fold.PREEMPTED_OF}{tenant['name']}"]}
            for tenant in found
        ]  # fmt: skip


class SqlTimeTravel:
    def __init__(self, engine: Engine, archive: ArchivedLog | None = None) -> None:
        """`archive`: where a task's events before the hot log's start are read from."""
        self._engine = engine
        self._archive = archive
        self._blocks: dict[int, Summary] = {}
        self._base: tuple[int, Summary] = (0, Summary())
        """What the events up to the hot log's start add (saved when they were removed)."""
        self._lock = threading.Lock()

    def position_at(self, moment: datetime) -> int:
        """The newest position recorded at or before `moment` (0 if none): a bisection, as
        the store stamps recorded_at in position order. Before the hot log's first event,
        the archive's (HistoryArchived without one)."""
        with reading(self._engine, transaction=True) as db:
            head, start = stored_events.bounds(db)
            found = _first_after(db, iso(moment), head, start + 1) - 1
            if start and found <= start:
                if self._archive is None:
                    raise log_start.archived(db, start, start)
                return self._archive.position_at(iso(moment))
            return found

    def head(self) -> int:
        with reading(self._engine) as db:
            return stored_events.head(db)

    def task(self, task_id: str, position: int) -> dict[str, Any] | None:
        stream = task_stream(task_id)
        with reading(self._engine, transaction=True) as db:
            history = stored_events.read_stream(db, stream)
            first = history[0].version if history else None
            if archived_start(db, stream, first):
                if self._archive is None:
                    raise log_start.archived(db, stored_events.bounds(db)[1], position)
                history = self._archive.stream(stream, first) + history
        return views.task_view([event for event in history if event.position <= position])

    def pools(self, position: int) -> list[dict[str, Any]]:
        with reading(self._engine, transaction=True) as db:
            return self._summary(db, position).pools()

    def tenants(self, position: int) -> list[dict[str, Any]]:
        with reading(self._engine, transaction=True) as db:
            return self._summary(db, position).tenant_views()

    def stats(self, position: int) -> dict[str, Any]:
        with reading(self._engine, transaction=True) as db:
            if position < stored_events.bounds(db)[1] and self._archive is not None:
                return self._archived_stats(position)
            summary = self._summary(db, position)
            recorded = stored_events.recorded_at(db, position)
            moment = None if recorded is None else parse(recorded)
            finished = _finished_in_window(db, position, moment, self._base[0])
            algorithm = _algorithm(db, position)
        sums = summary.sums
        counts = {str(status): sums[f"status.{status}"] for status in TaskStatus}
        return stats_view(counts, dict(sums), finished, summary.pools(), algorithm)

    def warm(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Summarize every full block of the hot log now, so the first query does not
        have to."""
        with reading(self._engine, transaction=True) as db:
            head, start = stored_events.bounds(db)
            first, full = -(-start // BLOCK), head // BLOCK
            for block in range(first, full):
                self._block(db, block)
                if progress is not None:
                    progress(block + 1 - first, full - first)

    def _summary(self, db: Db, position: int) -> Summary:
        """What the log up to `position` adds: the summary saved at the hot log's start,
        then the full blocks after it (cached) and the rest folded."""
        start, summary = self._start(db)
        if position < start:
            if self._archive is None:
                raise log_start.archived(db, start, position)
            return self._archived_summary(position)
        cursor = start
        while cursor < position:
            block, offset = divmod(cursor, BLOCK)
            if offset == 0 and cursor + BLOCK <= position:
                summary = summary.then(self._block(db, block))
                cursor += BLOCK
            else:
                end = min(position, (block + 1) * BLOCK)
                summary = summary.then(_summarize(db, cursor, end))
                cursor = end
        return summary

    def _archived_stats(self, position: int) -> dict[str, Any]:
        """Stats at a position before the hot log's start, from the archive."""
        assert self._archive is not None
        summary = self._archived_summary(position)
        row = self._archive.row_at(position)
        finished = 0
        if row is not None:
            moment = parse(str(row[10]))
            since = int((moment - timedelta(seconds=THROUGHPUT_WINDOW_S)).timestamp())
            earliest = iso(datetime.fromtimestamp(since, moment.tzinfo))
            for recorded in self._archive.recorded_since(position, earliest):
                if recorded.type in stats_fold.FINISHING:
                    done = stats_fold.changes(recorded).finished
                    finished += done is not None and done.second > since
        sums = summary.sums
        counts = {str(status): sums[f"status.{status}"] for status in TaskStatus}
        algorithm = Algorithm(summary.algorithm) if summary.algorithm else Algorithm.FIFO
        return stats_view(counts, dict(sums), finished, summary.pools(), algorithm)

    def _archived_summary(self, position: int) -> Summary:
        """What the archived log up to `position` adds: its full blocks (made in one pass
        over the segments, then cached), then the rest folded."""
        assert self._archive is not None
        full, rest = divmod(position, BLOCK)
        with self._lock:
            missing = [block for block in range(full) if block not in self._blocks]
        if missing:
            first, current, block = missing[0], Summary(), missing[0]
            made: dict[int, Summary] = {}
            for recorded in self._archive.recorded(first * BLOCK, full * BLOCK):
                while recorded.position > (block + 1) * BLOCK:
                    made[block], current, block = current, Summary(), block + 1
                current.add(recorded)
            while block < full:
                made[block], current, block = current, Summary(), block + 1
            with self._lock:
                self._blocks.update(made)
        summary = Summary()
        for block in range(full):
            summary = summary.then(self._blocks[block])
        if rest:
            tail = Summary()
            for recorded in self._archive.recorded(full * BLOCK, position):
                tail.add(recorded)
            summary = summary.then(tail)
        return summary

    def _start(self, db: Db) -> tuple[int, Summary]:
        saved = log_start.summary(db)
        if saved is None:
            return 0, Summary()
        with self._lock:
            if self._base[0] != saved[0]:
                self._base = (saved[0], Summary.decoded(saved[1]))
            return self._base

    def _block(self, db: Db, block: int) -> Summary:
        with self._lock:
            cached = self._blocks.get(block)
        if cached is None:
            cached = _summarize(db, block * BLOCK, (block + 1) * BLOCK)
            with self._lock:
                self._blocks[block] = cached
        return cached


def _summarize(db: Db, low: int, high: int) -> Summary:
    """What positions (low, high] add, folded event by event."""
    summary = Summary()
    for record in read_records(db, low, high):
        summary.add(record)
    return summary


def _first_after(db: Db, moment: str, head: int, low: int = 1, inclusive: bool = False) -> int:
    """The first position in low..head recorded after `moment` (at or after, if
    inclusive), or head + 1: a bisection, as recorded_at never decreases along the log."""
    high = head + 1
    while low < high:
        middle = (low + high) // 2
        recorded = stored_events.recorded_at(db, middle)
        assert recorded is not None  # positions low..head are gap-free
        if recorded > moment or (inclusive and recorded == moment):
            high = middle
        else:
            low = middle + 1
    return low


def _finished_in_window(db: Db, position: int, moment: datetime | None, start: int) -> int:
    """Tasks finished in the throughput window ending at `moment`, as the stats projection
    counts them (by the second of their own finish time). A finish time is never after
    its event's recorded_at, so only events recorded in the window need reading
    (HistoryArchived if some of them were archived: the window reaches before the hot
    log's first event)."""
    if moment is None:
        return 0
    since = int((moment - timedelta(seconds=THROUGHPUT_WINDOW_S)).timestamp())
    earliest = iso(datetime.fromtimestamp(since, moment.tzinfo))
    first = _first_after(db, earliest, position, start + 1, inclusive=True)
    if start and first == start + 1:
        raise log_start.archived(db, start, position)
    finished = 0
    for recorded in stored_events.read_types_within(
        db, sorted(stats_fold.FINISHING), first, position
    ):
        done = stats_fold.changes(recorded).finished
        finished += done is not None and done.second > since
    return finished


ALGORITHM_AT = sql(
    "SELECT type, schema_version, payload FROM events "
    "WHERE stream_id = ? AND position <= ? ORDER BY version DESC LIMIT 1"
)


def _algorithm(db: Db, position: int) -> Algorithm:
    row = db.execute(ALGORITHM_AT, (SCHEDULER_STREAM, position)).fetchone()
    if row is None:  # no switch yet, or the last one before it archived
        return log_start.load(db).algorithm
    event = decode(*row)
    assert isinstance(event, AlgorithmSwitched)
    return event.algorithm
