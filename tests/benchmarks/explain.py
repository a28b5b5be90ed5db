"""Benchmark: explaining a decision over HTTP (GET /api/v1/tasks/{id}/decisions: every
pool with its verdict or rank) on a large log, the candidates rebuilt from the log at the
recorded position and checked against the digest, against explaining a decision recorded
whole (every pool as seen, the form before compact records) in the same log and server.

The log: 10,000 pools registered, then tasks living their whole life (five events each)
up to 1,000,000 events; one task in `WHOLE_EVERY` records its decision whole. A real
server (uvicorn, scheduler and background verification off) serves it; the figures are
taken once it is idle (projections caught up, time travel and pool checkpoints made in the
background), the explained tasks spread over the whole log in random order. The first
request, for the newest task, is reported apart."""

import random
import sqlite3
import tempfile
import time
from pathlib import Path

import httpx

from tests.benchmarks.harness import Report, Row, Scale, percentile, progress
from tests.benchmarks.servers import PIDS, server
from tests.benchmarks.synthetic import many_pools, migrated_log

WHOLE_DECISIONS = 20
"""Tasks whose decision is recorded whole (the baseline), spread over the log."""
TARGET = "p99 < 50 ms"


def prepare(directory: Path, events: int, pools: int, report: Report) -> Path:
    tasks = (events - pools) // 5
    return migrated_log(
        directory / "explain.db",
        events,
        report.console,
        pools=many_pools(pools),
        whole_every=max(tasks // WHOLE_DECISIONS, 1),
    )


def assigned_tasks(path: Path) -> tuple[list[str], list[str]]:
    """The ids of the tasks decided by compact records, and by whole decisions."""
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT substr(stream_id, 6), schema_version FROM events WHERE type = 'WorkerAssigned' "
            "ORDER BY position"
        ).fetchall()
    return [t for t, schema in rows if schema >= 3], [t for t, schema in rows if schema < 3]


def wait_until_idle(url: str, quiet_s: float = 1.0) -> None:
    """Until the server's process has used under 5% of a core for `quiet_s`."""
    stat = Path(f"/proc/{PIDS[url]}/stat")
    ticks_per_s = 100
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        before = _cpu_ticks(stat)
        time.sleep(quiet_s)
        if _cpu_ticks(stat) - before < 0.05 * quiet_s * ticks_per_s:
            return
    raise RuntimeError("the server did not settle")


def _cpu_ticks(stat: Path) -> int:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def explain(client: httpx.Client, task_id: str, pools: int) -> float:
    """Milliseconds to explain one task; the answer must hold every pool."""
    started = time.perf_counter()
    response = client.get(f"/api/v1/tasks/{task_id}/decisions")
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    (decision,) = response.json()["decisions"]
    if len(decision["candidates"]) != pools:
        raise RuntimeError(f"{task_id}: {len(decision['candidates'])} candidates, not {pools}")
    return elapsed


def run(scale: Scale, report: Report) -> None:
    pools, events = scale.explain_pools, scale.explain_events
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as directory:
        path = prepare(Path(directory), events, pools, report)
        compact, whole = assigned_tasks(path)
        asked = rng.sample(compact, min(scale.explain_requests, len(compact)))
        env = {
            "TASKROUTERX_SCHEDULER": "off",
            "TASKROUTERX_SIMULATOR": "off",
            "TASKROUTERX_DEMO_POOLS": "false",
            "TASKROUTERX_VERIFY_CONTINUOUSLY": "false",
        }
        with server("app", path, **env) as url, httpx.Client(base_url=url, timeout=120) as client:
            wait_until_idle(url)
            first = explain(client, compact[-1], pools)
            explain(client, whole[0], pools)  # the connection and code paths warm alike
            rebuilt, recorded = [], []
            with progress(report.console) as bar:
                job = bar.add_task("explaining", total=len(asked) + len(whole))
                for index, task_id in enumerate(asked):
                    rebuilt.append(explain(client, task_id, pools))
                    if index % max(len(asked) // len(whole), 1) == 0 and len(recorded) < len(whole):
                        recorded.append(explain(client, whole[len(recorded)], pools))
                        bar.advance(job)
                    bar.advance(job)
    case = f"{pools:,} pools, {events:,} events"
    for metric, fraction in (("p50", 0.5), ("p99", 0.99)):
        report.add(
            Row(
                "explain",
                case,
                f"explain a compact record (rebuilt from the log), {metric}",
                percentile(rebuilt, fraction),
                "ms",
                "a whole recorded decision",
                percentile(recorded, fraction),
                TARGET if metric == "p99" else None,
            )
        )
    report.add(Row("explain", case, "first explain once the server is idle", first, "ms"))
