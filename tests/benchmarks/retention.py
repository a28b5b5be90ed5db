"""Benchmark: retention in a running server.

- The hot database's size under a steady load (tasks submitted at a fixed rate, simulated
  workers that finish at once) for `retention_run_s` with a short retention
  (ARCHIVE_AFTER and TASK_ROWS_RETENTION = `retention_s`), sampled as it runs: against a
  server without retention under the same load at the same time. Size: the database file
  and its write-ahead log.
- Submissions' p99 (wrk, 8 connections, 20 s) while retention archives a backlog of old events
  (a synthetic log recorded long ago), against the same server and log without retention;
  runs alternate.

Real servers on SQLite files, in child processes."""

import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx

from tests.benchmarks.harness import Report, Row, Scale
from tests.benchmarks.http_load import SUBMIT_LUA, wrk
from tests.benchmarks.servers import server
from tests.benchmarks.synthetic import migrated_log

QUICK_SIMULATION = {
    "TASKROUTERX_SIM_MIN_LATENCY_S": "0",
    "TASKROUTERX_SIM_MAX_LATENCY_S": "0",
    "TASKROUTERX_SIM_FAILURE_RATE": "0",
}
TASK = {"type": "order", "priority": 5, "cost": 1.0, "region": "us-east"}


def run(scale: Scale, report: Report) -> None:
    with tempfile.TemporaryDirectory() as directory:
        sized(Path(directory), scale, report)
        latency(Path(directory), scale, report)


def latency_only(scale: Scale, report: Report) -> None:
    """The p99 part alone (`--only retention-p99`)."""
    with tempfile.TemporaryDirectory() as directory:
        latency(Path(directory), scale, report)


def sized(directory: Path, scale: Scale, report: Report) -> None:
    kept = f"{scale.retention_s}s"
    retained = {"TASKROUTERX_ARCHIVE_AFTER": kept, "TASKROUTERX_TASK_ROWS_RETENTION": kept,
                "TASKROUTERX_ARCHIVE_DIR": str(directory / "segments"),
                "TASKROUTERX_ARCHIVE_CHECK_S": str(max(1, scale.retention_s // 6))}  # fmt: skip
    databases = {"retained": directory / "retained.db", "kept": directory / "kept.db"}
    samples: dict[str, list[tuple[float, int]]] = {"retained": [], "kept": []}
    with (
        server("app", databases["retained"], **QUICK_SIMULATION, **retained) as with_retention,
        server("app", databases["kept"], **QUICK_SIMULATION) as without,
    ):
        stop = threading.Event()
        loads = [
            threading.Thread(target=_submit, args=(url, scale.retention_rate, stop))
            for url in (with_retention, without)
        ]
        for load in loads:
            load.start()
        started = time.monotonic()
        with report.console.status("retention: steady load") as status:
            while (elapsed := time.monotonic() - started) < scale.retention_run_s:
                for name, path in databases.items():
                    samples[name].append((elapsed, _size(path)))
                status.update(f"retention: steady load, {elapsed:.0f}/{scale.retention_run_s} s")
                time.sleep(scale.retention_run_s / 20)
        stop.set()
        for load in loads:
            load.join()
        archived = httpx.get(f"{with_retention}/api/v1/health", timeout=60).json()["log"]
    case = (f"{scale.retention_rate} tasks/s for {scale.retention_run_s} s, retention "
            f"{scale.retention_s} s")  # fmt: skip
    settled = scale.retention_s * 1.5
    files = {name: {"database MB": os.path.getsize(path) / 1e6,
                    "write-ahead log MB": _size(path) / 1e6 - os.path.getsize(path) / 1e6}
             for name, path in databases.items()}  # fmt: skip
    for name, unit, pick in (
        ("hot database at the end", "MB", lambda s: s[-1][1] / 1e6),
        (f"growth from {settled:.0f} s to the end", "MB/min", lambda s: _growth(s, settled)),
    ):
        report.add(Row("retention", case, name, pick(samples["retained"]), unit,
                       "no retention, same load", pick(samples["kept"]),
                       extra={"files": files, "samples": samples["retained"]}))  # fmt: skip
    report.add(
        Row(
            "retention",
            case,
            "hot log's start at the end",
            archived["start"],
            "events",
            extra={"segments": archived["segments"], "bytes": archived["bytes"]},
        )
    )


def _submit(url: str, rate: int, stop: threading.Event) -> None:
    """Submit `rate` tasks a second until `stop` (each second's share at once)."""
    with httpx.Client(base_url=url, timeout=60) as client:
        tick = time.monotonic()
        while not stop.is_set():
            for _ in range(rate):
                client.post("/api/v1/tasks", json=TASK)
            tick += 1
            stop.wait(max(0.0, tick - time.monotonic()))


def _size(database: Path) -> int:
    return sum(
        os.path.getsize(path) for path in (database, Path(f"{database}-wal")) if path.exists()
    )


def _growth(samples: list[tuple[float, int]], after_s: float) -> float:
    """MB a minute, from the first sample after `after_s` to the last."""
    later = [(at, size) for at, size in samples if at >= after_s]
    if len(later) < 2:
        return float("nan")
    (first_at, first), (last_at, last) = later[0], later[-1]
    return (last - first) / 1e6 / ((last_at - first_at) / 60)


def latency(directory: Path, scale: Scale, report: Report) -> None:
    backlog = migrated_log(directory / "backlog.db", scale.retention_backlog, report.console)
    script = directory / "submit.lua"
    script.write_text(SUBMIT_LUA)
    p99: dict[str, list[float]] = {"archiving": [], "off": []}
    moved: list[int] = []
    for attempt in range(scale.runs):
        for kind in p99:
            database = directory / f"latency-{kind}-{attempt}.db"
            shutil.copy(backlog, database)
            env = dict(QUICK_SIMULATION, TASKROUTERX_DEMO_POOLS="false")
            if kind == "archiving":
                env |= {"TASKROUTERX_ARCHIVE_AFTER": "60s", "TASKROUTERX_ARCHIVE_CHECK_S": "0.5",
                        "TASKROUTERX_ARCHIVE_DIR": str(directory / f"segments-{attempt}")}  # fmt: skip
            with server("app", database, **env) as url:
                result = wrk(url, 8, 2 * scale.http_seconds, script)
                p99[kind].append(result.p99_ms)
                if kind == "archiving":
                    health = httpx.get(f"{url}/api/v1/health", timeout=60).json()
                    moved.append(health["log"]["start"])
            database.unlink()
    case = (f"wrk, 8 connections, {2 * scale.http_seconds} s; a backlog of "
            f"{scale.retention_backlog:,}")  # fmt: skip
    report.add(Row("retention", case, "submissions p99 while archiving",
                   statistics.median(p99["archiving"]), "ms", "retention off",
                   statistics.median(p99["off"]), "<= 1.5x",
                   extra={"events archived by the end": statistics.median(moved)}))  # fmt: skip
