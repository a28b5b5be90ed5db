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

import httpx

from tests.benchmarks import end_to_end
from tests.benchmarks.harness import Report, Row, Scale
from tests.benchmarks.http_load import SUBMIT_LUA, WrkResult, median, wrk
from tests.benchmarks.servers import server
from tests.postgres_support import VARIABLE, created_database, dropped_database

CASE = "64 connections in all"
LOCK_HELD = "taskrouterx_event_store_write_lock_held_seconds"


def run(scale: Scale, report: Report) -> None:
    if not os.environ.get(VARIABLE):
        report.console.print(f"nodes: skipped, {VARIABLE} is not set (see .ci/with-postgres)")
        return
    sqlite, postgres, two = [], [], []
    with tempfile.TemporaryDirectory() as directory:
        script = Path(directory) / "submit.lua"
        script.write_text(SUBMIT_LUA)
        for attempt in range(scale.runs):
            with server("app", Path(directory) / f"one-{attempt}.db") as url:
                sqlite.append(_loaded([url], 64, scale.http_seconds, script))
            database = created_database()
            try:
                with server("app", None, TASKROUTERX_DATABASE_URL=database) as url:
                    postgres.append(_loaded([url], 64, scale.http_seconds, script))
            finally:
                dropped_database(database)
            database = created_database()
            try:
                with (
                    server("app", None, TASKROUTERX_DATABASE_URL=database) as first,
                    server(
                        "app", None, TASKROUTERX_DATABASE_URL=database,
                        TASKROUTERX_DEMO_POOLS="false",
                    ) as second,
                ):  # fmt: skip
                    two.append(_loaded([first, second], 32, scale.http_seconds, script))
            finally:
                dropped_database(database)
    rates = {name: _median_rate(runs) for name, runs in
             (("sqlite", sqlite), ("postgres", postgres), ("two", two))}  # fmt: skip
    held = {name: _median_held(runs) for name, runs in
            (("sqlite", sqlite), ("postgres", postgres), ("two", two))}  # fmt: skip
    report.add(Row("nodes", CASE, "SQLite, one node", rates["sqlite"], "req/s"))
    report.add(
        Row("nodes", CASE, "PostgreSQL, one node", rates["postgres"], "req/s",
            "SQLite, one node", rates["sqlite"], ">= 1.0x")
    )  # fmt: skip
    report.add(
        Row("nodes", CASE, "PostgreSQL, two nodes", rates["two"], "req/s",
            "PostgreSQL, one node", rates["postgres"], ">= 1.3x")
    )  # fmt: skip
    for name, label in (("sqlite", "SQLite, one node"), ("postgres", "PostgreSQL, one node"),
                        ("two", "PostgreSQL, two nodes")):  # fmt: skip
        report.add(Row("nodes", CASE, f"write lock held per transaction, {label}",
                       held[name], "ms"))  # fmt: skip
    _end_to_end(scale, report)


def _end_to_end(scale: Scale, report: Report) -> None:
    seconds = max(scale.http_seconds, 1)
    runs: dict[str, list[float]] = {"sqlite": [], "postgres": [], "two": []}
    for _ in range(scale.runs):
        runs["sqlite"].append(end_to_end.one_run(seconds)[0])
        for name, nodes in (("postgres", 1), ("two", 2)):
            database = created_database()
            try:
                runs[name].append(end_to_end.one_run(seconds, database, nodes)[0])
            finally:
                dropped_database(database)
    rate = {name: sorted(values)[len(values) // 2] for name, values in runs.items()}
    case = "end to end, 0 s workers"
    report.add(Row("nodes", case, "SQLite, one node", rate["sqlite"], "tasks/s"))
    report.add(
        Row("nodes", case, "PostgreSQL, one node", rate["postgres"], "tasks/s",
            "SQLite, one node", rate["sqlite"], ">= 1.0x")
    )  # fmt: skip
    report.add(
        Row("nodes", case, "PostgreSQL, two nodes", rate["two"], "tasks/s",
            "PostgreSQL, one node", rate["postgres"], ">= 1.3x")
    )  # fmt: skip


Loaded = tuple[float, float]
"""Submissions/s summed over the nodes, and the write lock's mean hold per transaction
(ms) over them."""


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


def _median_rate(runs: list[Loaded]) -> float:
    return median([WrkResult(rate, 0, 0, 0, 0) for rate, _ in runs]).requests_per_s


def _median_held(runs: list[Loaded]) -> float:
    ordered = sorted(held for _, held in runs)
    return ordered[len(ordered) // 2]
