"""Benchmark: what a task costs on disk, with the 8 demo pools and with 1,000 pools, when
decisions are compact records (schema 3) and, as the baseline in the same run, when the
scheduler records whole decisions (every pool as seen, as schema 2 did).

Each case runs the real router on a SQLite file: the scheduler, zero-latency simulated
workers, every task completed. Bytes per task is what the database grew by from after the
pools were registered (pages in use, WAL checkpointed), over the tasks; bytes per decision
is the stored WorkerAssigned payloads over their count."""

import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from application.commands.register_worker_pool import RegisterWorkerPool
from application.commands.submit_task import SubmitTask
from application.messages import MessageContext
from application.scheduling.scheduler import Scheduler
from domain.values import Execution, ResourceType, TaskStatus, TaskType
from infrastructure.bootstrap import TaskRouter, bootstrap
from infrastructure.settings import Settings
from infrastructure.structured_logging import configure_logging
from tests.benchmarks.harness import Report, Row, Scale, progress

REGIONS = ("us-east", "us-west", "eu-west", "ap-east")


@contextmanager
def whole_decisions() -> Iterator[None]:
    """The scheduler records each whole Decision instead of its compact record."""
    compact = Scheduler._record
    Scheduler._record = lambda self, decision, stage=None: decision  # type: ignore[assignment,method-assign,return-value]
    try:
        yield
    finally:
        Scheduler._record = compact  # type: ignore[method-assign]


def measure(directory: Path, pools: int, tasks: int) -> tuple[float, float]:
    """(bytes per completed task, bytes per decision) of one run: the database's growth
    from after the pools were registered to after every task completed, over the tasks.
    Tasks come in waves the pools can take at once, so none waits (no deferrals)."""
    path = directory / f"storage-{pools}-{time.monotonic_ns()}.db"
    settings = Settings(
        database_url=f"sqlite:///{path}",
        demo_pools=pools == 8,
        sim_min_latency_s=0.0,
        sim_max_latency_s=0.0,
        sim_failure_rate=0.0,
        sim_seed=1,
        id_seed=1,
    )
    context = MessageContext("storage")
    router = bootstrap(settings)
    router.start()
    try:
        for index in range(pools if pools != 8 else 0):
            kind = list(ResourceType)[index % 2]
            region = REGIONS[index % len(REGIONS)]
            command = RegisterWorkerPool(
                f"{region}-{kind}-{index:05d}", region, kind, 0.5 + index % 7 / 10, 10,
                Execution.SIMULATED,
            )  # fmt: skip
            router.sender.submit(command, context).result(30)
        wave = max(1, sum(pool["capacity"] for pool in router.read_model.list_pools()) // 2)
    finally:
        router.stop()
        router.engines.dispose()
    before = _used_bytes(path)
    router = bootstrap(settings.model_copy(update={"demo_pools": False}))
    router.start()
    try:
        for first in range(0, tasks, wave):
            futures = [
                router.sender.submit(
                    SubmitTask(TaskType.ORDER, 1 + index % 10, 1.0, REGIONS[index % 4]), context
                )
                for index in range(first, min(first + wave, tasks))
            ]
            for future in futures:
                future.result(60)
            _wait_for(router, min(first + wave, tasks))
    finally:
        router.stop()
        router.engines.dispose()
    with sqlite3.connect(path) as db:
        count, total = db.execute(
            "SELECT COUNT(*), SUM(LENGTH(payload)) FROM events WHERE type = 'WorkerAssigned'"
        ).fetchone()
    return (_used_bytes(path) - before) / tasks, total / count


def _wait_for(router: TaskRouter, completed: int) -> None:
    deadline = time.monotonic() + 300
    while router.read_model.status_counts().get(TaskStatus.COMPLETED, 0) < completed:
        if time.monotonic() > deadline:
            raise TimeoutError("the tasks did not all complete")
        time.sleep(0.005)


def _used_bytes(path: Path) -> int:
    """The database's pages in use, after a checkpoint moved the WAL into it."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
        size = db.execute("PRAGMA page_size").fetchone()[0]
    return int((pages - free) * size)


def run(scale: Scale, report: Report) -> None:
    configure_logging(level="WARNING")
    cases = [(8, scale.storage_tasks), (1_000, scale.storage_tasks // 4)]
    with tempfile.TemporaryDirectory() as directory, progress(report.console) as bar:
        job = bar.add_task("storage: compact and whole decisions", total=len(cases) * 2)
        for pools, tasks in cases:
            compact = measure(Path(directory), pools, tasks)
            bar.advance(job)
            with whole_decisions():
                whole = measure(Path(directory), pools, tasks)
            bar.advance(job)
            case = f"{pools:,} pools, {tasks:,} tasks completed, none waiting"
            for index, metric in enumerate(("bytes per completed task", "bytes per decision")):
                report.add(
                    Row(
                        "storage",
                        case,
                        metric,
                        compact[index],
                        "B",
                        baseline="whole decisions",
                        baseline_value=whole[index],
                        target=(
                            "<= 2,500 B (8 pools); <= 1.1x of that (1,000 pools)"
                            if index == 0
                            else "<= 600 B"
                        ),
                    )
                )
