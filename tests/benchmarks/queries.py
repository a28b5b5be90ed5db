"""Benchmark 6: read latencies with a million tasks stored (stats, a filtered page, one
task), through the read model the endpoints use."""

import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infrastructure.sql import migrate
from infrastructure.sql.engine import create_engines
from infrastructure.sql.queries import SqlReadModel
from tests.benchmarks.harness import Report, Row, Scale, percentile, progress
from tests.benchmarks.synthetic import write_read_model


def run(scale: Scale, report: Report) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "queries.db"
        engines = create_engines(f"sqlite:///{path}")
        migrate.upgrade(engines.write)
        with progress(report.console) as bar:
            bar.add_task(f"writing {scale.query_tasks:,} tasks", total=None)
            sample = write_read_model(path, scale.query_tasks)
        read_model = SqlReadModel(engines.read)
        rng = random.Random(3)
        now = datetime.now(UTC)
        cases: dict[str, Callable[[], Any]] = {
            "GET /system/stats": lambda: read_model.stats(now),
            "GET /tasks?status&type&region (page 5)": lambda: read_model.list_tasks(
                "completed", "order", "eu-west", 5, 20
            ),
            "GET /tasks?page=1": lambda: read_model.list_tasks(None, None, None, 1, 20),
            "GET /tasks/{id}": lambda: read_model.get_task(rng.choice(sample)),
        }
        for name, query in cases.items():
            p50s, p99s = [], []
            for _ in range(scale.runs):
                samples = []
                for _ in range(scale.queries):
                    started = time.perf_counter()
                    query()
                    samples.append((time.perf_counter() - started) * 1000)
                p50s.append(percentile(samples, 0.5))
                p99s.append(percentile(samples, 0.99))
            case = f"{name}, {scale.query_tasks:,} tasks"
            report.add(Row("query", case, "p50", statistics.median(p50s), "ms"))
            report.add(
                Row("query", case, "p99", statistics.median(p99s), "ms", target="p99 < 20 ms")
            )
        engines.dispose()
