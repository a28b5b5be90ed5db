"""The read side: queries over the projections and the log, returning plain views."""

import functools
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine

from application import views
from application.audit.decision_inputs import TYPES as TRAIL_TYPES
from application.errors import CorruptEvent
from application.messages import RecordedEvent
from application.read_models import pools as pool_rows
from application.read_models import stats as stats_rows
from application.read_models import tasks as task_rows
from application.read_models import tenants as tenant_rows
from application.tracing import TraceParent
from domain.events import AlgorithmSwitched
from domain.scheduler_config import SCHEDULER_STREAM
from domain.scheduling import PoolSnapshot
from domain.task import task_stream
from domain.tenant import DEFAULT_TENANT, tenant_stream
from domain.values import Algorithm, TaskStatus, TaskType
from domain.worker_pool import pool_stream
from infrastructure.archive.archived_log import ArchivedLog
from infrastructure.codec import decode, payload_dict
from infrastructure.sql import log_start, stored_events
from infrastructure.sql.chain import COLUMNS
from infrastructure.sql.db import Db, Sql, mappings, reading, select_by_keys, sql
from infrastructure.sql.pool_history import ArchivedPoolHistory, PoolHistory
from infrastructure.sql.projections.runner import read_checkpoints

THROUGHPUT_WINDOW_S = 60

TASK = sql("SELECT * FROM tasks WHERE id = ?")
POOLS = sql("SELECT * FROM pool_load ORDER BY registration")
POOL = sql("SELECT * FROM pool_load WHERE pool_id = ?")
LEASABLE = sql(
    "SELECT id FROM tasks WHERE pool_id = ? AND status = ? AND leased_by IS NULL "
    f"AND cancel_requested = 0 AND type IN ({', '.join('?' * len(TaskType))}) "
    "ORDER BY started_at LIMIT ?"
)
STATUS_COUNTS = sql("SELECT status, SUM(count) FROM task_counts GROUP BY status")
STATUS_COUNTS_OF = sql(
    "SELECT status, SUM(count) FROM task_counts WHERE tenant = ? GROUP BY status"
)
COUNTERS = sql("SELECT name, value FROM stats_counters")
FINISHED_SINCE = sql("SELECT COALESCE(SUM(finished), 0) FROM stats_throughput WHERE second > ?")
THROUGHPUT = sql(
    "SELECT second, finished, completed, latency_sum_us FROM stats_throughput "
    "WHERE second >= ? AND second < ?"
)
E_COLUMNS = ", ".join(f"e.{column}" for column in COLUMNS)
"""The events table's columns, of its alias `e`."""
TASK_OF_EVENT = f"LEFT JOIN tasks t ON t.id = substr(e.stream_id, {len(task_stream('')) + 1})"
"""An event's task row as `t` (`task-<id>` streams: the row says whose it is)."""
OF_TENANT = "(t.tenant = ? OR e.stream_id = ?)"
"""A tenant's event (with TASK_OF_EVENT): its tasks' and its own stream's."""
STREAM_EVENTS = sql(
    f"SELECT {E_COLUMNS}, x.trace_id FROM events e "
    "LEFT JOIN event_traces x ON x.position = e.position WHERE e.stream_id = ? ORDER BY e.version"
)
"""A stream's events, each with the trace it was recorded under (if any)."""
CHECKPOINT = sql("SELECT position FROM checkpoints WHERE name = ?")
LATEST_ALGORITHM = sql(
    "SELECT type, schema_version, payload FROM events WHERE stream_id = ? "
    "ORDER BY version DESC LIMIT 1"
)
PING = sql("SELECT 1")
TENANTS = sql("SELECT * FROM tenants ORDER BY name")
TENANT = sql("SELECT * FROM tenants WHERE name = ?")
ACTIVE_BY_TENANT = sql(
    "SELECT tenant, status, SUM(count) FROM task_counts WHERE status IN (?, ?, ?) "
    "GROUP BY tenant, status"
)
TENANT_FLOWS = sql("SELECT second, tenant, started, ended FROM tenant_seconds WHERE second >= ?")
TAKING_SLOTS = sql("SELECT SUM(capacity) FROM pool_load WHERE draining = 0")
COUNTERS_LIKE = sql("SELECT name, value FROM stats_counters WHERE name LIKE ?")
TASKS_PAGE = "SELECT * FROM tasks{where} ORDER BY queued_position DESC LIMIT ? OFFSET ?"
TASKS_TOTAL = "SELECT COALESCE(SUM(count), 0) FROM task_counts{where}"
EVENTS_PAGE = stored_events.SELECT + " WHERE position > ?{and_where} ORDER BY position LIMIT ?"
LOG_PAGE = stored_events.SELECT + "{where} ORDER BY position DESC LIMIT ? OFFSET ?"
LOG_TOTAL = "SELECT COUNT(*) FROM events{where}"
TASK_FILTERS = ("status", "type", "region", "tenant")
EVENT_FILTERS = ("stream_id", "type", "correlation_id")
TENANT_SCAN = 10_000
"""Positions a page of one tenant's events looks through at most: its events are found by
the tasks they belong to, so a quiet tenant's page would otherwise read the log to its
head. A page ends there even if short, and says where (`reached`)."""
TENANT_EVENTS = (
    f"SELECT {E_COLUMNS} FROM events e {TASK_OF_EVENT} "
    f"WHERE e.position > ? AND e.position <= ?{{and_where}} AND {OF_TENANT} "
    "ORDER BY e.position LIMIT ?"
)
"""A tenant's events: its tasks' (`task-<id>`: the task row says whose) and its own stream's."""
LOG_FILTERS = ("stream_id", "type")
TRACE_EVENTS = (
    f"SELECT {E_COLUMNS}, x.trace_id "
    "FROM event_traces x JOIN events e ON e.position = x.position{tenant_join} "
    "WHERE x.trace_id = ? AND x.position > ?{and_where} ORDER BY x.position LIMIT ?"
)
"""The events recorded under one trace (from the hot log: archived events keep none)."""
TRACE_OF = sql(
    "SELECT x.trace_id, x.span_id FROM events e JOIN event_traces x ON x.position = e.position "
    "WHERE e.stream_id = ? AND x.trace_id = (SELECT f.trace_id FROM events g "
    "JOIN event_traces f ON f.position = g.position WHERE g.stream_id = ? "
    "ORDER BY g.version LIMIT 1) ORDER BY e.version DESC LIMIT 1"
)
"""The span a stream's latest event of its own trace (its first traced event's: a task's
submission) was recorded under."""


class SqlReadModel:
    def __init__(self, engine: Engine, archive: ArchivedLog | None = None) -> None:
        """`archive`: where the events before the hot log's start are read from (None: such
        reads answer HistoryArchived)."""
        self._engine = engine
        self._archive = archive
        self._pools = PoolHistory(engine)
        self._archived_pools: ArchivedPoolHistory | None = None

    def get_task(self, task_id: str) -> dict[str, Any] | None:
        """From the projection, or folded from the task's stream while it is behind."""
        with reading(self._engine, transaction=True) as db:
            if not _is_current(db, "tasks"):
                return views.task_view(stored_events.read_stream(db, task_stream(task_id)))
            found = mappings(db.execute(TASK, (task_id,)))
        return task_view(found[0]) if found else None

    def task_row(self, task_id: str) -> dict[str, Any] | None:
        with reading(self._engine) as db:
            found = mappings(db.execute(TASK, (task_id,)))
        return found[0] if found else None

    def list_tasks(
        self,
        status: str | None,
        type: str | None,
        region: str | None,
        page: int,
        page_size: int,
        tenant: str | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        names, values = _given(TASK_FILTERS, (status, type, region, tenant))
        with reading(self._engine, transaction=True) as db:
            page_of = (*values, page_size, (page - 1) * page_size)
            rows = mappings(db.execute(_filtered(TASKS_PAGE, names), page_of))
            total = int(db.execute(_filtered(TASKS_TOTAL, names), values).fetchone()[0])
        return [task_view(row) for row in rows], total

    def list_pools(self) -> list[dict[str, Any]]:
        with reading(self._engine) as db:
            return [pool_view(row) for row in mappings(db.execute(POOLS))]

    def get_pool(self, pool_id: str) -> dict[str, Any] | None:
        """From the projection, or folded from the pool's stream while it is behind."""
        with reading(self._engine, transaction=True) as db:
            if not _is_current(db, "pool_load"):
                return views.pool_view(stored_events.read_stream(db, pool_stream(pool_id)))
            found = mappings(db.execute(POOL, (pool_id,)))
        return pool_view(found[0]) if found else None

    def list_tenants(self) -> list[dict[str, Any]]:
        """Every tenant (the default one first if never changed), with its queued, delayed
        and processing tasks."""
        with reading(self._engine, transaction=True) as db:
            rows = mappings(db.execute(TENANTS))
            active = _active_by_tenant(db)
            preempted = _preempted_by_tenant(db)
        found = [tenant_rows.view(row) for row in rows]
        if not any(tenant["name"] == DEFAULT_TENANT for tenant in found):
            found.insert(0, tenant_rows.default_view())
        return [
            {**tenant, **active.get(tenant["name"], _NONE_ACTIVE),
             "preempted": preempted.get(tenant["name"], 0)}
            for tenant in found
        ]  # fmt: skip

    def get_tenant(self, name: str) -> dict[str, Any] | None:
        with reading(self._engine, transaction=True) as db:
            rows = mappings(db.execute(TENANT, (name,)))
            active = _active_by_tenant(db)
            preempted = _preempted_by_tenant(db)
        if rows:
            tenant = tenant_rows.view(rows[0])
        elif name == DEFAULT_TENANT:
            tenant = tenant_rows.default_view()
        else:
            return None
        return {**tenant, **active.get(name, _NONE_ACTIVE), "preempted": preempted.get(name, 0)}

    def tenant_series(self, now: datetime, window_s: int, step_s: int) -> dict[str, Any]:
        """Each tenant's running tasks at the end of each step over the last `window_s`
        seconds (steps as `series`), oldest first, and the slots of the pools taking tasks
        now: running now, less the attempts started after each step's end, plus those that
        ended after it (`tenant_seconds`)."""
        count = -(-window_s // step_s)
        second = int(now.timestamp())
        end = (second // step_s + 1) * step_s
        start = end - count * step_s
        with reading(self._engine, transaction=True) as db:
            running = {
                tenant: int(total)
                for tenant, status, total in db.execute(ACTIVE_BY_TENANT, tenant_rows.COUNTED)
                if status == TaskStatus.PROCESSING
            }
            flows = db.execute(TENANT_FLOWS, (start,)).fetchall()
            (slots,) = db.execute(TAKING_SLOTS).fetchone()
        return tenant_series_view(start, count, step_s, running, flows, int(slots or 0))

    def leasable(
        self, pool_id: str, limit: int, types: Collection[TaskType] | None = None
    ) -> list[str]:
        """Tasks (of `types`, or of any) assigned to the pool that no worker holds yet,
        oldest assignment first (a hint: leasing each one checks it again)."""
        # as many placeholders as there are types: the wanted ones, the last repeated
        wanted = [str(each) for each in (types or TaskType)]
        wanted += wanted[-1:] * (len(TaskType) - len(wanted))
        with reading(self._engine) as db:
            rows = db.execute(LEASABLE, (pool_id, str(TaskStatus.PROCESSING), *wanted, limit))
            return [task_id for (task_id,) in rows]

    def queue_size(self) -> int:
        return self.status_counts().get(TaskStatus.QUEUED, 0)

    def status_counts(self) -> dict[str, int]:
        with reading(self._engine) as db:
            return _status_counts(db)

    def stats(self, now: datetime, tenant: str | None = None) -> dict[str, Any]:
        """The stats; with `tenant`, its task counts (the rest is the whole router's)."""
        since = int((now - timedelta(seconds=THROUGHPUT_WINDOW_S)).timestamp())
        with reading(self._engine, transaction=True) as db:
            if tenant is None:
                counts = _status_counts(db)
            else:
                rows = db.execute(STATUS_COUNTS_OF, (tenant,))
                counts = {status: int(total) for status, total in rows}
            counters = dict(db.execute(COUNTERS))
            finished = db.execute(FINISHED_SINCE, (since,)).fetchone()[0]
            pools = [pool_view(row) for row in mappings(db.execute(POOLS))]
            algorithm = active_algorithm(db)
        result = stats_view(counts, counters, int(finished), pools, algorithm)
        return result if tenant is None else {"tenant": tenant, **result}

    def series(self, now: datetime, window_s: int, step_s: int) -> list[dict[str, Any]]:
        """Throughput and mean latency over the last `window_s` seconds (rounded up to whole
        steps), oldest first, in steps aligned to multiples of `step_s` since the epoch, so
        a step keeps its bounds from one call to the next; the last is the one `now` is in,
        counted over the seconds it has had so far. A step with no completions has no
        latency."""
        count = -(-window_s // step_s)
        second = int(now.timestamp())
        end = (second // step_s + 1) * step_s
        start = end - count * step_s
        with reading(self._engine) as db:
            rows = db.execute(THROUGHPUT, (start, end)).fetchall()
        return series_view(start, count, step_s, second - (end - step_s) + 1, rows)

    def active_algorithm(self) -> Algorithm:
        with reading(self._engine) as db:
            return active_algorithm(db)

    def events_page(
        self,
        after: int,
        limit: int,
        stream: str | None,
        type: str | None,
        correlation_id: str | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        names, values = _given(EVENT_FILTERS, (stream, type, correlation_id))
        with reading(self._engine, transaction=True) as db:
            head, start = stored_events.bounds(db)
            page: list[dict[str, Any]] = []
            if after < start:
                wanted = dict(zip(names, values, strict=True))
                page = self._archived_page(db, after, start, limit, wanted)
                after, limit = start, limit - len(page)
            if limit > 0:
                rows = db.execute(_filtered(EVENTS_PAGE, names), (after, *values, limit))
                page += [event_view(row) for row in mappings(rows)]
            return page, head

    def trace_events_page(
        self,
        trace_id: str,
        after: int,
        limit: int,
        stream: str | None,
        type: str | None,
        correlation_id: str | None = None,
        tenant: str | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """Up to `limit` events after `after` recorded under the trace (of `tenant`'s, if
        given: its tasks' and its own), with the head."""
        names, values = _given(EVENT_FILTERS, (stream, type, correlation_id))
        scoped = () if tenant is None else (tenant, tenant_stream(tenant))
        with reading(self._engine, transaction=True) as db:
            head, _ = stored_events.bounds(db)
            statement = _trace_filtered(names, tenant is not None)
            rows = mappings(db.execute(statement, (trace_id, after, *values, *scoped, limit)))
        return [event_view(row) for row in rows], head

    def trace_of(self, stream_id: str) -> TraceParent | None:
        with reading(self._engine) as db:
            row = db.execute(TRACE_OF, (stream_id, stream_id)).fetchone()
        return None if row is None else TraceParent(str(row[0]), str(row[1]))

    def task_tenants(self, task_ids: Sequence[str]) -> dict[str, str]:
        with reading(self._engine) as db:
            return dict(select_by_keys(db, "tasks", ("tenant",), "id", task_ids))

    def tenant_events_page(
        self,
        tenant: str,
        after: int,
        limit: int,
        stream: str | None,
        type: str | None,
        correlation_id: str | None = None,
    ) -> tuple[list[dict[str, Any]], int, int]:
        """Up to `limit` of one tenant's events after `after`, looking through at most
        TENANT_SCAN positions of the hot log (archived events are not shown): (the page,
        the position it reached, the head)."""
        names, values = _given(EVENT_FILTERS, (stream, type, correlation_id))
        with reading(self._engine, transaction=True) as db:
            head, start = stored_events.bounds(db)
            after = max(after, start)
            bound = min(head, after + TENANT_SCAN)
            wanted = (after, bound, *values, tenant, tenant_stream(tenant), limit)
            rows = mappings(db.execute(_tenant_filtered(names), wanted))
        page = [event_view(row) for row in rows]
        return page, page[-1]["position"] if len(page) == limit else bound, head

    def _archived_page(
        self, db: Db, after: int, start: int, limit: int, wanted: dict[str, str]
    ) -> list[dict[str, Any]]:
        """Up to `limit` archived events after `after` that match `wanted` (column: value);
        HistoryArchived when no archive is configured."""
        if self._archive is None:
            raise log_start.archived(db, start, after + 1)
        page = []
        for row in self._archive.rows(after, start):
            named = dict(zip(COLUMNS, row, strict=False))
            if all(named[column] == value for column, value in wanted.items()):
                page.append(event_view(named))
                if len(page) == limit:
                    break
        return page

    def stream_events(self, stream_id: str) -> list[dict[str, Any]]:
        with reading(self._engine, transaction=True) as db:
            rows = mappings(db.execute(STREAM_EVENTS, (stream_id,)))
            first = rows[0]["version"] if rows else None
            if not archived_start(db, stream_id, first):
                return [event_view(row) for row in rows]
            earlier = self._needed_archive(db, stream_id).stream_rows(stream_id, first)
        named = (dict(zip(COLUMNS, row, strict=False)) for row in earlier)
        return [*map(event_view, named), *map(event_view, rows)]

    def history(self, stream_id: str) -> list[RecordedEvent]:
        with reading(self._engine, transaction=True) as db:
            events = stored_events.read_stream(db, stream_id)
            first = events[0].version if events else None
            if not archived_start(db, stream_id, first):
                return events
            return self._needed_archive(db, stream_id).stream(stream_id, first) + events

    def _needed_archive(self, db: Db, stream_id: str) -> ArchivedLog:
        """The archive, for a stream whose first events it holds (HistoryArchived when
        none is configured)."""
        if self._archive is None:
            start = stored_events.bounds(db)[1]
            asked = _queued_at(db, stream_id) or start
            raise log_start.archived(db, start, asked)
        return self._archive

    def decision_inputs(self, seen: int, before: int, run: str) -> list[tuple[PoolSnapshot, bytes]]:
        """The board of a decision (see PoolHistory.inputs). One whose pools were seen
        before the hot log's start: from the start's trail (a decision just after it),
        else from the archive (HistoryArchived without one)."""
        with reading(self._engine, transaction=True) as db:
            start = stored_events.bounds(db)[1]
            if seen < start:
                base = log_start.load(db)
                if seen >= base.floor:
                    trail = base.trail()
                    for recorded in stored_events.read_checked(
                        db, base.position, stored_events.LAST, before - 1, TRAIL_TYPES
                    ):
                        trail.apply(recorded)
                    return trail.inputs(seen, before, run)
        if seen < start and self._archive is not None:
            if self._archived_pools is None:
                self._archived_pools = ArchivedPoolHistory(self._engine, self._archive)
            return self._archived_pools.inputs(seen, before, run)
        return self._pools.inputs(seen, before, run)

    def warm_decision_inputs(self) -> None:
        """See PoolHistory.warm."""
        self._pools.warm()

    def logs(
        self, task_id: str | None, event_type: str | None, page: int, page_size: int
    ) -> tuple[list[dict[str, Any]], int]:
        stream = None if task_id is None else task_stream(task_id)
        names, values = _given(LOG_FILTERS, (stream, event_type))
        with reading(self._engine, transaction=True) as db:
            rows = mappings(
                db.execute(_filtered(LOG_PAGE, names), (*values, page_size, (page - 1) * page_size))
            )
            if names:
                total = int(db.execute(_filtered(LOG_TOTAL, names), values).fetchone()[0])
            else:
                head, start = stored_events.bounds(db)
                total = head - start
        return [log_view(row) for row in rows], total

    def projection_positions(self) -> tuple[dict[str, int], int]:
        with reading(self._engine, transaction=True) as db:
            return read_checkpoints(db), stored_events.head(db)

    def head(self) -> int:
        with reading(self._engine) as db:
            return stored_events.head(db)

    def archive_state(self) -> dict[str, Any]:
        """Where the hot log starts (and when it last moved) and what the archive segments
        hold of the removed events: {"head", "start", "moved_at", "segments", "bytes",
        "newest_cut"}."""
        with reading(self._engine, transaction=True) as db:
            head, start = stored_events.bounds(db)
            count, size, last = log_start.segments(db)
            moved = log_start.moved_at(db)
        return {"head": head, "start": start, "moved_at": moved, "segments": count,
                "bytes": size, "newest_cut": last}  # fmt: skip

    def check_after(self, after: int) -> None:
        with reading(self._engine, transaction=True) as db:
            self._check_after(db, after)

    @staticmethod
    def _check_after(db: Db, after: int) -> int:
        """The head; HistoryArchived if events after `after` were archived."""
        head, start = stored_events.bounds(db)
        if after < start:
            raise log_start.archived(db, start, after + 1)
        return head

    def ping(self) -> None:
        with reading(self._engine) as db:
            db.execute(PING).fetchone()


QUEUED_AT = sql("SELECT queued_position FROM tasks WHERE id = ?")


def _queued_at(db: Db, stream_id: str) -> int | None:
    """Where a task stream's task was submitted (None: not a task, or no row)."""
    task_id = stream_id.removeprefix(task_stream(""))
    row = db.execute(QUEUED_AT, (task_id,)).fetchone() if task_id != stream_id else None
    return None if row is None else int(row[0])


def archived_start(db: Db, stream_id: str, first_version: int | None) -> bool:
    """Whether the stream's first events were archived and removed: its first hot
    version is not 1, or (a task's) it has none left though the task was submitted."""
    if first_version == 1:
        return False
    start = stored_events.bounds(db)[1]
    if not start:
        return False
    if first_version is not None:
        return True
    queued = _queued_at(db, stream_id)
    return queued is not None and queued <= start


def _given(
    names: tuple[str, ...], values: tuple[str | None, ...]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The filters that have a value: their column names and their values."""
    given = [(name, value) for name, value in zip(names, values, strict=True) if value is not None]
    return tuple(name for name, _ in given), tuple(value for _, value in given)


@functools.cache
def _tenant_filtered(names: tuple[str, ...]) -> Sql:
    """TENANT_EVENTS with the given filters on the events' columns."""
    return sql(TENANT_EVENTS.format(and_where=_on_events(names)))


@functools.cache
def _trace_filtered(names: tuple[str, ...], of_tenant: bool) -> Sql:
    """TRACE_EVENTS with the given filters on the events' columns (and a tenant's)."""
    return sql(
        TRACE_EVENTS.format(
            tenant_join=f" {TASK_OF_EVENT}" if of_tenant else "",
            and_where=_on_events(names) + (f" AND {OF_TENANT}" if of_tenant else ""),
        )
    )


def _on_events(names: tuple[str, ...]) -> str:
    """` AND e.a = ? AND e.b = ?` for the given columns of the events (alias `e`)."""
    return "".join(f" AND e.{name} = ?" for name in names)


@functools.cache
def _filtered(template: str, names: tuple[str, ...]) -> Sql:
    """`template` with `{where}` replaced by `WHERE a = ? AND b = ?` for the given columns
    (nothing for none) and `{and_where}` by `AND a = ? AND b = ?`. One statement per
    combination of filters (the columns are a closed set), so each uses the indexes that
    serve its filters, which a catch-all `(? IS NULL OR ...)` could not."""
    conditions = " AND ".join(f"{name} = ?" for name in names)
    return sql(
        template.format(
            where=f" WHERE {conditions}" if names else "",
            and_where=f" AND {conditions}" if names else "",
        )
    )


def _is_current(db: Db, projection: str) -> bool:
    row = db.execute(CHECKPOINT, (projection,)).fetchone()
    return row is not None and row[0] == stored_events.head(db)


_NONE_ACTIVE = dict.fromkeys(tenant_rows.COUNTED, 0)


def _preempted_by_tenant(db: Db) -> dict[str, int]:
    prefix = stats_rows.PREEMPTED_OF
    rows = db.execute(COUNTERS_LIKE, (f"{prefix}%",))
    return {name.removeprefix(prefix): int(value) for name, value in rows}


def tenant_series_view(
    start: int,
    count: int,
    step_s: int,
    running: dict[str, int],
    flows: Sequence[Sequence[Any]],
    slots: int,
) -> dict[str, Any]:
    """`flows`: (second, tenant, started, ended) at seconds from `start` on; `running`: each
    tenant's running tasks now. A tenant with nothing running in the window is left out."""
    net: dict[str, list[int]] = {}
    """Per tenant, the attempts started less those ended in each step (and after the last,
    at index `count`: seconds past the window's end cannot happen, kept for safety)."""
    for second, tenant, started, ended in flows:
        step = min((int(second) - start) // step_s, count)
        net.setdefault(tenant, [0] * (count + 1))[step] += int(started) - int(ended)
    tenants = {}
    for tenant in sorted(set(running) | set(net)):
        changes = net.get(tenant, [0] * (count + 1))
        level = running.get(tenant, 0) - changes[count]
        levels = [0] * count
        for step in range(count - 1, -1, -1):  # each step's end, walking back from now
            levels[step] = max(level, 0)
            level -= changes[step]
        if any(levels):
            tenants[tenant] = {
                "running": levels,
                "share_pct": [round(100.0 * n / slots, 2) if slots else 0.0 for n in levels],
            }
    points = [
        datetime.fromtimestamp(start + (index + 1) * step_s, UTC).isoformat()
        for index in range(count)
    ]
    return {"window_s": count * step_s, "step_s": step_s, "slots": slots, "at": points,
            "tenants": tenants}  # fmt: skip


def _active_by_tenant(db: Db) -> dict[str, dict[str, int]]:
    """Each tenant's queued, delayed and processing tasks (tenants with none left out)."""
    found: dict[str, dict[str, int]] = {}
    for tenant, status, count in db.execute(ACTIVE_BY_TENANT, tenant_rows.COUNTED):
        found.setdefault(tenant, dict(_NONE_ACTIVE))[status] = int(count)
    return found


def _status_counts(db: Db) -> dict[str, int]:
    return {status: int(total) for status, total in db.execute(STATUS_COUNTS)}


def active_algorithm(db: Db) -> Algorithm:
    row = db.execute(LATEST_ALGORITHM, (SCHEDULER_STREAM,)).fetchone()
    if row is None:
        return Algorithm.FIFO
    event = decode(*row)
    assert isinstance(event, AlgorithmSwitched)
    return event.algorithm


def series_view(
    start: int, count: int, step_s: int, last_seconds: int, rows: Sequence[Sequence[int]]
) -> list[dict[str, Any]]:
    """`last_seconds`: how much of the last step has passed; `rows`: (second, finished,
    completed, latency_sum_us)."""
    steps = [[0, 0, 0] for _ in range(count)]
    for second, finished, completed, latency_sum_us in rows:
        step = steps[(second - start) // step_s]
        step[0] += finished
        step[1] += completed
        step[2] += latency_sum_us
    points = []
    for index, (finished, completed, latency) in enumerate(steps):
        seconds = last_seconds if index == count - 1 else step_s
        points.append(
            {
                "at": datetime.fromtimestamp(start + index * step_s, UTC).isoformat(),
                "seconds": seconds,
                "finished": finished,
                "throughput": finished / seconds,
                "completed": completed,
                "mean_latency_s": latency / completed / 1e6 if completed else None,
            }
        )
    return points


def stats_view(
    counts: dict[str, int],
    counters: dict[str, int],
    finished: int,
    pools: list[dict[str, Any]],
    algorithm: Algorithm,
) -> dict[str, Any]:
    """GET /system/stats from task counts by status, the scheduler and latency counters,
    tasks finished in the throughput window, and the pools."""
    latency_count = counters.get("latency_count", 0)
    completed = counts.get(TaskStatus.COMPLETED, 0)
    failed = counts.get(TaskStatus.FAILED, 0)
    return {
        "tasks_processed": completed + failed,
        "tasks_pending": counts.get(TaskStatus.QUEUED, 0),
        "tasks_delayed": counts.get(TaskStatus.DELAYED, 0),
        "tasks_processing": counts.get(TaskStatus.PROCESSING, 0),
        "tasks_completed": completed,
        "tasks_failed": failed,
        "tasks_cancelled": counts.get(TaskStatus.CANCELLED, 0),
        "average_latency": (counters.get("latency_sum_us", 0) / 1e6 / latency_count)
        if latency_count
        else 0.0,
        "throughput": float(finished) / THROUGHPUT_WINDOW_S,
        "worker_utilization": {pool["name"]: pool["utilization"] for pool in pools},
        "queue_size": counts.get(TaskStatus.QUEUED, 0),
        "scheduler_stats": {
            "algorithm": str(algorithm),
            "tasks_assigned": int(counters.get("assigned", 0)),
            "tasks_deferred": int(counters.get("deferred", 0)),
            "tasks_preempted": int(counters.get("preempted", 0)),
            "assigned_by_algorithm": {
                str(name): int(counters.get(f"assigned.{name}", 0)) for name in Algorithm
            },
            "algorithm_switches": int(counters.get("algorithm_switches", 0)),
        },
    }


def task_view(row: Any) -> dict[str, Any]:
    """A row of the tasks table as the API shows it (its metadata stored as JSON text)."""
    return task_rows.view({**row, "metadata": orjson.loads(row["metadata"])})


def pool_view(row: Any) -> dict[str, Any]:
    return pool_rows.view(row)


def event_view(row: Any) -> dict[str, Any]:
    return {
        "position": row["position"],
        "stream_id": row["stream_id"],
        "version": row["version"],
        "type": row["type"],
        "schema_version": row["schema_version"],
        "payload": _payload(row),
        "metadata": {
            "event_id": row["event_id"],
            "correlation_id": row["correlation_id"],
            "causation_id": row["causation_id"],
            "actor": row["actor"],
            "recorded_at": row["recorded_at"],
            **({"trace_id": row["trace_id"]} if "trace_id" in row else {}),
        },
    }


def log_view(row: Any) -> dict[str, Any]:
    stream_id: str = row["stream_id"]
    return {
        "id": row["position"],
        "task_id": stream_id.removeprefix("task-") if stream_id.startswith("task-") else None,
        "timestamp": row["recorded_at"],
        "event_type": row["type"],
        "details": _payload(row),
    }


def _payload(row: Any) -> dict[str, Any]:
    """A stored event's payload as JSON; CorruptEvent, naming the row, if it is not."""
    try:
        return payload_dict(row["payload"])
    except (ValueError, AssertionError):
        raise CorruptEvent(
            row["position"], row["stream_id"], "its payload is not a JSON object"
        ) from None
