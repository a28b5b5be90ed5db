"""The read side: queries over the projections and the log, returning plain views."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Row, Select, desc, func, select

from application import views
from application.errors import CorruptEvent
from application.messages import RecordedEvent
from application.read_models import pools as pool_rows
from application.read_models import tasks as task_rows
from domain.events import AlgorithmSwitched
from domain.scheduler_config import SCHEDULER_STREAM
from domain.task import task_stream
from domain.values import Algorithm, TaskStatus
from domain.worker_pool import pool_stream
from infrastructure.codec import decode, payload_dict
from infrastructure.sql import stored_events
from infrastructure.sql.errors import connect
from infrastructure.sql.projections.base import raw
from infrastructure.sql.projections.runner import read_checkpoints
from infrastructure.sql.schema import (
    checkpoints,
    events,
    pool_load,
    stats_counters,
    stats_throughput,
    task_counts,
    tasks,
)

THROUGHPUT_WINDOW_S = 60


class SqlReadModel:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get_task(self, task_id: str) -> dict[str, Any] | None:
        """From the projection, or folded from the task's stream while it is behind."""
        with connect(self._engine, transaction=True) as connection:
            if not _is_current(connection, "tasks"):
                return views.task_view(
                    stored_events.read_stream(raw(connection), task_stream(task_id))
                )
            row = connection.execute(select(tasks).where(tasks.c.id == task_id)).first()
        return None if row is None else task_view(row._mapping)

    def list_tasks(
        self,
        status: str | None,
        type: str | None,
        region: str | None,
        page: int,
        page_size: int,
    ) -> tuple[list[dict[str, Any]], int]:
        filters = {"status": status, "type": type, "region": region}
        query = select(tasks).order_by(desc(tasks.c.queued_position))
        total_query = select(func.coalesce(func.sum(task_counts.c.count), 0))
        for column, value in filters.items():
            if value is not None:
                query = query.where(tasks.c[column] == value)
                total_query = total_query.where(task_counts.c[column] == value)
        query = query.limit(page_size).offset((page - 1) * page_size)
        with connect(self._engine, transaction=True) as connection:
            rows = connection.execute(query).all()
            total = int(connection.execute(total_query).scalar_one())
        return [task_view(row._mapping) for row in rows], total

    def list_pools(self) -> list[dict[str, Any]]:
        with connect(self._engine) as connection:
            rows = connection.execute(select(pool_load).order_by(pool_load.c.registration))
            return [pool_view(row._mapping) for row in rows]

    def get_pool(self, pool_id: str) -> dict[str, Any] | None:
        """From the projection, or folded from the pool's stream while it is behind."""
        with connect(self._engine, transaction=True) as connection:
            if not _is_current(connection, "pool_load"):
                return views.pool_view(
                    stored_events.read_stream(raw(connection), pool_stream(pool_id))
                )
            row = connection.execute(
                select(pool_load).where(pool_load.c.pool_id == pool_id)
            ).first()
        return None if row is None else pool_view(row._mapping)

    def leasable(self, pool_id: str, limit: int) -> list[str]:
        """Tasks assigned to the pool that no worker holds yet, oldest assignment first
        (a hint: leasing each one checks it again)."""
        query = (
            select(tasks.c.id)
            .where(
                tasks.c.pool_id == pool_id,
                tasks.c.status == TaskStatus.PROCESSING,
                tasks.c.leased_by.is_(None),
                tasks.c.cancel_requested == 0,
            )
            .order_by(tasks.c.started_at)
            .limit(limit)
        )
        with connect(self._engine) as connection:
            return [row.id for row in connection.execute(query)]

    def queue_size(self) -> int:
        return self.status_counts().get(TaskStatus.QUEUED, 0)

    def status_counts(self) -> dict[str, int]:
        with connect(self._engine) as connection:
            return _status_counts(connection)

    def stats(self, now: datetime) -> dict[str, Any]:
        since = int((now - timedelta(seconds=THROUGHPUT_WINDOW_S)).timestamp())
        with connect(self._engine, transaction=True) as connection:
            counts = _status_counts(connection)
            counters = dict(
                connection.execute(select(stats_counters.c.name, stats_counters.c.value)).all()
            )
            finished = connection.execute(
                select(func.coalesce(func.sum(stats_throughput.c.finished), 0)).where(
                    stats_throughput.c.second > since
                )
            ).scalar_one()
            pools = connection.execute(select(pool_load).order_by(pool_load.c.registration)).all()
            algorithm = active_algorithm(connection)
        return stats_view(counts, counters, int(finished), [pool_view(r._mapping) for r in pools],
                          algorithm)  # fmt: skip

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
        query = select(stats_throughput).where(
            stats_throughput.c.second >= start, stats_throughput.c.second < end
        )
        with connect(self._engine) as connection:
            rows = connection.execute(query).all()
        return series_view(start, count, step_s, second - (end - step_s) + 1, rows)

    def active_algorithm(self) -> Algorithm:
        with connect(self._engine) as connection:
            return active_algorithm(connection)

    def events_page(
        self,
        after: int,
        limit: int,
        stream: str | None,
        type: str | None,
        correlation_id: str | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        query = select(*stored_events.COLUMNS).where(events.c.position > after)
        if stream is not None:
            query = query.where(events.c.stream_id == stream)
        if type is not None:
            query = query.where(events.c.type == type)
        if correlation_id is not None:
            query = query.where(events.c.correlation_id == correlation_id)
        query = query.order_by(events.c.position).limit(limit)
        with connect(self._engine, transaction=True) as connection:
            head = stored_events.head(raw(connection))
            return [event_view(row._mapping) for row in connection.execute(query)], head

    def stream_events(self, stream_id: str) -> list[dict[str, Any]]:
        query = (
            select(*stored_events.COLUMNS)
            .where(events.c.stream_id == stream_id)
            .order_by(events.c.version)
        )
        with connect(self._engine) as connection:
            return [event_view(row._mapping) for row in connection.execute(query)]

    def history(self, stream_id: str) -> list[RecordedEvent]:
        with connect(self._engine) as connection:
            return stored_events.read_stream(raw(connection), stream_id)

    def logs(
        self, task_id: str | None, event_type: str | None, page: int, page_size: int
    ) -> tuple[list[dict[str, Any]], int]:
        query: Select[Any] = select(*stored_events.COLUMNS)
        count = select(func.count()).select_from(events)
        if task_id is not None:
            query = query.where(events.c.stream_id == task_stream(task_id))
            count = count.where(events.c.stream_id == task_stream(task_id))
        if event_type is not None:
            query = query.where(events.c.type == event_type)
            count = count.where(events.c.type == event_type)
        query = query.order_by(desc(events.c.position)).limit(page_size)
        query = query.offset((page - 1) * page_size)
        with connect(self._engine, transaction=True) as connection:
            rows = connection.execute(query).all()
            if task_id is None and event_type is None:
                total = stored_events.head(raw(connection))
            else:
                total = int(connection.execute(count).scalar_one())
        return [log_view(row._mapping) for row in rows], total

    def projection_positions(self) -> tuple[dict[str, int], int]:
        with connect(self._engine, transaction=True) as connection:
            return read_checkpoints(raw(connection)), stored_events.head(raw(connection))

    def head(self) -> int:
        with connect(self._engine) as connection:
            return stored_events.head(raw(connection))

    def ping(self) -> None:
        with connect(self._engine) as connection:
            connection.execute(select(1)).scalar_one()


def _is_current(connection: Connection, projection: str) -> bool:
    checkpoint = connection.execute(
        select(checkpoints.c.position).where(checkpoints.c.name == projection)
    ).scalar()
    return checkpoint == stored_events.head(raw(connection))


def _status_counts(connection: Connection) -> dict[str, int]:
    rows = connection.execute(
        select(task_counts.c.status, func.sum(task_counts.c.count)).group_by(task_counts.c.status)
    )
    return {status: int(total) for status, total in rows}


def active_algorithm(connection: Connection) -> Algorithm:
    row = connection.execute(
        select(events.c.type, events.c.schema_version, events.c.payload)
        .where(events.c.stream_id == SCHEDULER_STREAM)
        .order_by(desc(events.c.version))
        .limit(1)
    ).first()
    if row is None:
        return Algorithm.FIFO
    event = decode(row.type, row.schema_version, row.payload)
    assert isinstance(event, AlgorithmSwitched)
    return event.algorithm


def series_view(
    start: int, count: int, step_s: int, last_seconds: int, rows: Sequence[Row[Any]]
) -> list[dict[str, Any]]:
    """`last_seconds`: how much of the last step has passed."""
    steps = [[0, 0, 0] for _ in range(count)]
    for row in rows:
        step = steps[(row.second - start) // step_s]
        step[0] += row.finished
        step[1] += row.completed
        step[2] += row.latency_sum_us
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
