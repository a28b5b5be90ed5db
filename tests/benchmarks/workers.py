"""Benchmark: tasks/s end to end through external workers. The same tasks, submitted before
the worker starts, run by a worker of Python functions (a no-op async function, and a no-op
sync one in threads) and by the command-per-task worker (`taskrouterx worker -- true`, a
process per task), each against a fresh server with one external pool and the simulator
off, from the worker's start until the last task is completed. Runs alternate; medians."""

import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from interfaces.client import Client
from tests.benchmarks.harness import Report, Row, Scale, progress
from tests.benchmarks.servers import server

CONCURRENCY = 16
KINDS = ("python async", "python sync", "command")


def run(scale: Scale, report: Report) -> None:
    tasks = scale.worker_tasks
    rates: dict[str, list[float]] = {kind: [] for kind in KINDS}
    with tempfile.TemporaryDirectory() as directory, progress(report.console) as bar:
        job = bar.add_task("workers", total=scale.runs * len(KINDS))
        for attempt in range(scale.runs):
            for kind in KINDS:
                database = Path(directory) / f"workers-{attempt}-{kind.replace(' ', '-')}.db"
                rates[kind].append(one_run(kind, database, tasks))
                bar.advance(job)
    case = f"{tasks} no-op tasks, {CONCURRENCY} at once"
    baseline = statistics.median(rates["command"])
    for kind in KINDS[:2]:
        report.add(Row("workers", case, f"{kind}: completed tasks/s",
                       statistics.median(rates[kind]), "tasks/s",
                       "command per task (`taskrouterx worker -- true`)", baseline,
                       ">= 1.0x"))  # fmt: skip


def one_run(kind: str, database: Path, tasks: int) -> float:
    """Tasks/s from the worker's start until `tasks` are completed."""
    env = {"TASKROUTERX_DEMO_POOLS": "false", "TASKROUTERX_SIMULATOR": "off"}
    with server("app", database, **env) as url, Client(url) as router:
        router.register_pool("bench", "lab", "cpu", 1.0, CONCURRENCY * 2, execution="external")
        for _ in range(tasks):
            router.submit("query", 5, 1.0, "lab")
        started = time.perf_counter()
        worker = subprocess.Popen(_worker_command(kind, url), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            while router.stats()["tasks_completed"] < tasks:
                if worker.poll() is not None:
                    raise RuntimeError(f"the {kind} worker exited with {worker.returncode}")
                time.sleep(0.05)
            seconds = time.perf_counter() - started
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
    return tasks / seconds


def _worker_command(kind: str, url: str) -> list[str]:
    if kind == "command":
        return [sys.executable, "-m", "interfaces", "worker", "--pool", "bench", "--url", url,
                "--concurrency", str(CONCURRENCY), "--grace-s", "0", "--", "true"]  # fmt: skip
    flavour = kind.split()[1]
    return [sys.executable, "-m", "tests.benchmarks.noop_worker", url, "bench",
            str(CONCURRENCY), flavour]  # fmt: skip
