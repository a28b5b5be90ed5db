"""Benchmark 3: event store appends/s, sequential and with 32 concurrent writers, against
raw sqlite3 (one transaction per row, and batches of 100) and the eventsourcing library.

Our writers are asyncio tasks handing appends to the single writer, as HTTP requests do;
each waits for its own append to commit before the next."""

import asyncio
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from application.aggregates import Aggregates
from application.bus import CommandBus
from application.commit_signal import CommitSignal
from application.messages import MessageContext, StreamWrite
from domain.events import TaskQueued
from domain.values import ResourceType, TaskType
from infrastructure.clock import RandomIds, SystemClock
from infrastructure.codec import encode
from infrastructure.single_writer import SingleWriter
from infrastructure.sql import migrate
from infrastructure.sql.engine import create_engines
from infrastructure.sql.event_store import SqlEventStore
from interfaces.http.completions import wait_for
from tests.benchmarks.harness import Report, Row, Scale, median_rate
from tests.builders import task_queued

CONTEXT = MessageContext("bench", None, "bench")


def sample_event() -> TaskQueued:
    return task_queued(
        str(uuid.uuid4()),
        TaskType.ORDER,
        5,
        12.5,
        "eu-west",
        ResourceType.CPU,
        {"customer": "acme", "items": 3},
        datetime.now(UTC),
    )


def ours(events: int, writers: int) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as directory:
        engines = create_engines(f"sqlite:///{Path(directory) / 'store.db'}")
        migrate.upgrade(engines.write)
        clock = SystemClock()
        store = SqlEventStore(engines.write, engines.read, clock, RandomIds(1), CommitSignal())
        writer = SingleWriter(
            CommandBus(Aggregates(store), clock, RandomIds(2)), transactions=store
        )
        writer.start()
        per_writer = events // writers

        async def work() -> None:
            for _ in range(per_writer):
                event = sample_event()
                write = StreamWrite(f"task-{event.task_id}", 0, [event])
                job = lambda write=write: store.append([write], CONTEXT)  # noqa: E731
                await wait_for(writer.run(job, batchable=True))

        async def all_writers() -> float:
            started = time.perf_counter()
            await asyncio.gather(*(work() for _ in range(writers)))
            return time.perf_counter() - started

        elapsed = asyncio.run(all_writers())
        writer.stop()
        engines.dispose()
        return per_writer * writers, elapsed


def raw_sqlite(events: int, batch: int) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as directory:
        db = sqlite3.connect(Path(directory) / "raw.db", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(
            "CREATE TABLE events (position INTEGER PRIMARY KEY, stream_id TEXT NOT NULL, "
            "version INTEGER NOT NULL, type TEXT NOT NULL, schema_version INTEGER NOT NULL, "
            "payload TEXT NOT NULL, event_id TEXT NOT NULL, correlation_id TEXT NOT NULL, "
            "causation_id TEXT, actor TEXT NOT NULL, recorded_at TEXT NOT NULL, "
            "UNIQUE (stream_id, version))"
        )
        db.execute("CREATE INDEX ix_type ON events (type, position)")
        started = time.perf_counter()
        position = 0
        for _ in range(events // batch):
            rows = []
            for _ in range(batch):
                position += 1
                event = sample_event()
                rows.append(
                    (
                        position,
                        f"task-{event.task_id}",
                        1,
                        "TaskQueued",
                        1,
                        encode(event),
                        str(uuid.uuid4()),
                        "bench",
                        None,
                        "bench",
                        datetime.now(UTC).isoformat(),
                    )
                )
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
            db.execute("COMMIT")
        elapsed = time.perf_counter() - started
        db.close()
        return events // batch * batch, elapsed


def eventsourcing_saves(events: int, writers: int = 1) -> tuple[int, float]:
    from tests.benchmarks.es_model import Job, application

    with tempfile.TemporaryDirectory() as directory:
        app = application(Path(directory) / "es.db")
        per_writer = events // writers

        def work() -> None:
            for _ in range(per_writer):
                app.save(Job("eu-west", 5, {"customer": "acme", "items": 3}))

        elapsed = _in_threads(work, writers)
        app.close()
        return per_writer * writers, elapsed


def _in_threads(work: Callable[[], None], count: int) -> float:
    threads = [threading.Thread(target=work) for _ in range(count)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def run(scale: Scale, report: Report) -> None:
    n, runs = scale.store_events, scale.runs
    raw_single = median_rate(runs, lambda: raw_sqlite(n, 1))
    raw_batched = median_rate(runs, lambda: raw_sqlite(n * 4, 100))
    es_sequential = median_rate(runs, lambda: eventsourcing_saves(n))
    sequential = median_rate(runs, lambda: ours(n, 1))
    concurrent = median_rate(runs, lambda: ours(n * 2, scale.store_writers))
    report.add(Row("store", "raw sqlite3", "1 row/txn", raw_single, "events/s"))
    report.add(Row("store", "raw sqlite3", "100 rows/txn", raw_batched, "events/s"))
    report.add(Row("store", "eventsourcing", "sequential saves", es_sequential, "events/s"))
    report.add(
        Row(
            "store",
            "taskrouterx",
            "1 writer",
            sequential,
            "events/s",
            "raw sqlite3 1 row/txn",
            raw_single,
            ">= 0.7x",
        )
    )
    report.add(
        Row(
            "store",
            "taskrouterx",
            f"{scale.store_writers} writers",
            concurrent,
            "events/s",
            "eventsourcing sequential",
            es_sequential,
            ">= 10x",
        )
    )
