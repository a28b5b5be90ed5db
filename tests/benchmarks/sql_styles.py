"""Benchmark: what a statement costs written as a DB-API `Sql` (the project's one style) and
as a SQLAlchemy Core expression, the same statements on the same SQLite file, alternating
run by run. `synchronous=OFF`, so the figures are the Python per statement, not the disk."""

import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from infrastructure.sql import migrate
from infrastructure.sql.db import Db, db_of
from infrastructure.sql.engine import create_engines
from infrastructure.sql.projections.tasks import COLUMNS, COUNTS, INSERT
from infrastructure.sql.queries import TASK
from infrastructure.sql.schema import task_counts, tasks
from tests.benchmarks.harness import Report, Row, Scale, progress

OPERATIONS = 2000
"""Statements per case per run."""


def _task(index: int) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(
        id=f"t-{index}-{uuid.uuid4().hex[:8]}", type="order", priority=5, cost=1.0,
        region="eu-west", status="queued", metadata="{}",
        enqueued_at="2026-12-05T00:00:00+00:00", correlation_id="c", queued_position=index,
        position=index, attempt=1, max_attempts=3, cancel_requested=0, tenant="default",
        preemptible=0,
    )  # fmt: skip
    return row


def _dbapi_cases(db: Db, ids: list[str]) -> dict[str, Callable[[int], None]]:
    return {
        "point read (a task by id)": lambda i: db.execute(TASK, (ids[i % len(ids)],)).fetchone(),
        "insert a task row (30 columns)": lambda i: db.executemany(
            INSERT, [tuple(_task(i).values())]
        ),
        "counter upsert": lambda i: db.executemany(
            COUNTS.statement, [("queued", "order", f"r{i % 50}", "default", 1)]
        ),
    }


def _core_cases(connection: Connection, ids: list[str]) -> dict[str, Callable[[int], None]]:
    upsert = sqlite_insert(task_counts)
    upsert = upsert.on_conflict_do_update(
        index_elements=["status", "type", "region", "tenant"],
        set_={"count": task_counts.c.count + upsert.excluded.count},
    )
    return {
        "point read (a task by id)": lambda i: connection.execute(
            select(tasks).where(tasks.c.id == ids[i % len(ids)])
        ).first(),
        "insert a task row (30 columns)": lambda i: connection.execute(insert(tasks), _task(i)),
        "counter upsert": lambda i: connection.execute(
            upsert,
            {
                "status": "queued",
                "type": "order",
                "region": f"r{i % 50}",
                "tenant": "default",
                "count": 1,
            },
        ),
    }


def _per_statement_us(case: Callable[[int], None], start: int) -> float:
    began = time.perf_counter()
    for index in range(start, start + OPERATIONS):
        case(index)
    return (time.perf_counter() - began) / OPERATIONS * 1e6


def run(scale: Scale, report: Report) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "styles.db"
        engines = create_engines(f"sqlite:///{path}", synchronous="OFF")
        migrate.upgrade(engines.write)
        with engines.write.begin() as connection:
            db = db_of(connection)
            seeded = [_task(index) for index in range(1000)]
            db.executemany(INSERT, [tuple(row.values()) for row in seeded])
        ids = [row["id"] for row in seeded]
        timings: dict[str, dict[str, list[float]]] = {}
        with progress(report.console) as bar:
            task = bar.add_task("statements, DB-API and Core", total=scale.runs * 2)
            for run_index in range(scale.runs):
                for style in ("dbapi", "core"):
                    with engines.write.begin() as connection:
                        cases = (
                            _dbapi_cases(db_of(connection), ids)
                            if style == "dbapi"
                            else _core_cases(connection, ids)
                        )
                        for name, case in cases.items():
                            start = 10_000 * (run_index * 2 + (style == "core") + 1)
                            us = _per_statement_us(case, start)
                            timings.setdefault(name, {}).setdefault(style, []).append(us)
                    bar.advance(task)
        engines.dispose()
    for name, styles in timings.items():
        report.add(
            Row(
                "sql",
                name,
                "per statement, DB-API Sql",
                statistics.median(styles["dbapi"]),
                "µs",
                baseline="SQLAlchemy Core",
                baseline_value=statistics.median(styles["core"]),
            )
        )
