"""Shared pieces: sizes, medians, the report (terminal table and JSON), progress bars."""

import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


@dataclass(frozen=True)
class Scale:
    """How big each benchmark runs; `quick` is the smoke run inside the test suite."""

    runs: int = 3
    store_events: int = 3000
    store_writers: int = 32
    replay_events: int = 1_000_000
    decision_pools: tuple[int, ...] = (10, 100, 1_000, 10_000)
    decisions: int = 2000
    query_tasks: int = 1_000_000
    queries: int = 300
    http_seconds: int = 10
    http_connections: tuple[int, ...] = (1, 8, 32, 64)
    e2e_tasks: int = 20_000
    stream_count: int = 500
    stream_seconds: float = 20.0
    stream_rate: float = 20.0
    storage_tasks: int = 2000
    verify_events: int = 1_000_000
    explain_pools: int = 10_000
    explain_events: int = 1_000_000
    explain_requests: int = 200
    records_rebuild_events: int = 300_000
    records_whatif_tasks: int = 100_000
    records_pools: int = 1_000
    lifecycle_events: int = 1_000_000
    retention_s: int = 60
    retention_run_s: int = 600
    retention_rate: int = 100
    retention_backlog: int = 400_000
    worker_tasks: int = 2_000

    @staticmethod
    def quick() -> "Scale":
        return Scale(
            runs=1,
            store_events=200,
            store_writers=8,
            replay_events=5_000,
            decision_pools=(10, 100),
            decisions=100,
            query_tasks=3_000,
            queries=30,
            http_seconds=1,
            http_connections=(1, 8),
            e2e_tasks=300,
            stream_count=20,
            stream_seconds=1.0,
            stream_rate=10.0,
            storage_tasks=80,
            verify_events=5_000,
            explain_pools=200,
            explain_events=8_000,
            explain_requests=20,
            records_rebuild_events=3_000,
            records_whatif_tasks=300,
            records_pools=40,
            lifecycle_events=5_000,
            retention_s=3,
            retention_run_s=8,
            retention_rate=10,
            retention_backlog=3_000,
            worker_tasks=100,
        )


@dataclass
class Row:
    benchmark: str
    case: str
    metric: str
    value: float
    unit: str
    baseline: str | None = None
    baseline_value: float | None = None
    target: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline_value in (None, 0):
            return None
        assert self.baseline_value is not None
        return self.value / self.baseline_value


class Report:
    def __init__(self, console: Console | None = None) -> None:
        self.rows: list[Row] = []
        self.console = console or Console(stderr=True)

    def add(self, row: Row) -> None:
        self.rows.append(row)

    def table(self) -> Table:
        table = Table(title="TaskRouterX benchmarks (medians)")
        for header in ("benchmark", "case", "metric", "value", "baseline", "ratio", "target"):
            table.add_column(header, justify="right" if header in ("value", "ratio") else "left")
        for row in self.rows:
            baseline = (
                f"{row.baseline}: {fmt(row.baseline_value)}" if row.baseline is not None else ""
            )
            ratio = f"{row.ratio:.2f}x" if row.ratio is not None else ""
            table.add_row(
                row.benchmark,
                row.case,
                row.metric,
                f"{fmt(row.value)} {row.unit}",
                baseline,
                ratio,
                row.target or "",
            )
        return table

    def write_json(self, path: Path, meta: dict[str, Any]) -> None:
        rows = [{**asdict(row), "ratio": row.ratio} for row in self.rows]
        path.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))


def fmt(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.2f}"
    return f"{value:.4f}"


def median_rate(runs: int, measure: Callable[[], tuple[int, float]]) -> float:
    """Median of `runs` rates, each measure() returning (operations, seconds)."""
    rates = []
    for _ in range(runs):
        operations, seconds = measure()
        rates.append(operations / seconds)
    return statistics.median(rates)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(int(fraction * len(ordered)), len(ordered) - 1)
    return ordered[index]


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def child_json(module: str, *arguments: str) -> Any:
    """Run `python -m module arguments...` in a fresh process; the JSON on its last line."""
    output = subprocess.run(
        [sys.executable, "-m", module, *arguments], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])
