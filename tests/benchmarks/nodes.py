"""One node on SQLite, one node on PostgreSQL, two PostgreSQL nodes on one database: POST
/tasks under wrk at 64 connections in all (two nodes: 32 each, at once), how long a write
transaction held the write lock (the servers' own metric), and tasks/s end to end (see
end_to_end.one_run), in the same run.

Needs a PostgreSQL server named by TASKROUTERX_TEST_POSTGRES_URL (`.ci/with-postgres`
starts a throwaway one); without it the suite says so and reports nothing."""

import os
import re
import tempfile
import threading
from pathlib import Path
from statistics import median

import httpx

from tests.benchmarks import end_to_end
from tests.benchmarks.harness import Report, Row, Scale
from tests.benchmarks.http_load import SUBMIT_LUA, WrkResult, wrk
from tests.benchmarks.servers import server
from tests.postgres_support import VARIABLE, fresh_database

CASE = "64 connections in all"
SET_UPS = {
    "sqlite": "SQLite, one node",
    "postgres": "PostgreSQL, one node",
    "two": "PostgreSQL, two nodes",
}
LOCK_HELD = "taskrouterx_event_store_write_lock_held_seconds"


Loaded = tuple[float, float]
"""Submissions/s summed over the nodes, and the write lock's mean hold per transaction
(ms) over them."""


def run(scale: Scale, report: Report) -> None:
    if not os.environ.get(VARIABLE):
        report.console.print(f"nodes: skipped, {VARIABLE} is not set (see .ci/with-postgres)")
        return
    runs: dict[str, list[Loaded]] = {name: [] for name in SET_UPS}
    with tempfile.TemporaryDirectory() as directory:
        script = Path(directory) / "submit.lua"
        script.write_text(SUBMIT_LUA)
        for attempt in range(scale.runs):
            with server("app", Path(directory) / f"one-{attempt}.db") as url:
                runs["sqlite"].append(_loaded([url], 64, scale.http_seconds, script))
            with (
                fresh_database() as database,
                server("app", None, TASKROUTERX_DATABASE_URL=database) as url,
            ):
                runs["postgres"].append(_loaded([url], 64, scale.http_seconds, script))
            with (
                fresh_database() as database,
                server("app", None, TASKROUTERX_DATABASE_URL=database) as first,
                server(
                    "app", None, TASKROUTERX_DATABASE_URL=database, TASKROUTERX_DEMO_POOLS="false"
                ) as second,
            ):
                runs["two"].append(_loaded([first, second], 32, scale.http_seconds, script))
    rates = {name: median(rate for rate, _ in loaded) for name, loaded in runs.items()}
    _compared(report, CASE, rates, "req/s")
    for name, label in SET_UPS.items():
        held = median(held for _, held in runs[name])
        report.add(Row("nodes", CASE, f"write lock held per transaction, {label}", held, "ms"))
    _end_to_end(scale, report)


def _end_to_end(scale: Scale, report: Report) -> None:
    seconds = max(scale.http_seconds, 1)
    runs: dict[str, list[float]] = {name: [] for name in SET_UPS}
    for _ in range(scale.runs):
        runs["sqlite"].append(end_to_end.one_run(seconds)[0])
        for name, nodes in (("postgres", 1), ("two", 2)):
            with fresh_database() as database:
                runs[name].append(end_to_end.one_run(seconds, database, nodes)[0])
    rates = {name: median(values) for name, values in runs.items()}
    _compared(report, "end to end, 0 s workers", rates, "tasks/s")


def _compared(report: Report, case: str, rates: dict[str, float], unit: str) -> None:
    """Each set-up's figure; PostgreSQL's against SQLite's, two nodes' against one's."""
    report.add(Row("nodes", case, SET_UPS["sqlite"], rates["sqlite"], unit))
    for name, baseline, target in (
        ("postgres", "sqlite", ">= 1.0x"),
        ("two", "postgres", ">= 1.3x"),
    ):
        report.add(
            Row("nodes", case, SET_UPS[name], rates[name], unit, SET_UPS[baseline],
                rates[baseline], target)
        )  # fmt: skip


def _loaded(urls: list[str], connections: int, seconds: int, script: Path) -> Loaded:
    results: dict[str, WrkResult] = {}

    def load(url: str) -> None:
        results[url] = wrk(url, connections, seconds, script)

    threads = [threading.Thread(target=load, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    held, transactions = 0.0, 0.0
    for url in urls:
        text = httpx.get(url + "/metrics", timeout=30).text
        held += _metric(text, f"{LOCK_HELD}_sum")
        transactions += _metric(text, f"{LOCK_HELD}_count")
    rate = sum(result.requests_per_s for result in results.values())
    return rate, held / transactions * 1000 if transactions else 0.0


def _metric(text: str, name: str) -> float:
    found = re.search(rf"^{name} ([0-9.e+-]+)$", text, re.M)
    return float(found.group(1)) if found else 0.0
