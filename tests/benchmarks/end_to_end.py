"""Benchmark 2: tasks/s from submission to completed, with zero-latency simulated workers
and capacity for every task, and the queue length sampled over time."""

import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

from tests.benchmarks.harness import Report, Row, Scale
from tests.benchmarks.http_load import SUBMIT_LUA, wrk
from tests.benchmarks.servers import server

REGIONS = ("us-east", "us-west", "eu-west", "ap-east")


def run(scale: Scale, report: Report) -> None:
    seconds = max(scale.http_seconds, 1)
    rates, peaks, finals = [], [], []
    samples: list[tuple[float, int]] = []
    for _ in range(scale.runs):
        rate, samples, final = one_run(seconds)
        rates.append(rate)
        peaks.append(max((q for _, q in samples), default=0))
        finals.append(final)
    rates.sort()
    report.add(
        Row(
            "end to end",
            "64 connections, 0 s workers",
            "completed tasks/s",
            rates[len(rates) // 2],
            "tasks/s",
            target=">= 1,500/s",
            extra={"queue_samples": samples},
        )
    )
    report.add(
        Row(
            "end to end",
            "64 connections, 0 s workers",
            "peak queue length",
            sorted(peaks)[len(peaks) // 2],
            "tasks",
        )
    )
    report.add(
        Row(
            "end to end",
            "64 connections, 0 s workers",
            "queue length at the end",
            sorted(finals)[len(finals) // 2],
            "tasks",
            target="bounded (returns to 0)",
        )
    )


def one_run(
    seconds: int, database_url: str | None = None, nodes: int = 1
) -> tuple[float, list[tuple[float, int]], int]:
    """Submissions from wrk at 64 connections for `seconds` to a fresh server whose pools
    take every task and whose simulated workers finish at once; the tasks completed per
    second until the queue is empty, the queue's length every 0.5 s, and at the end. On a
    SQLite file of its own, or the (empty) database at `database_url` with `nodes` servers
    sharing the connections."""
    with tempfile.TemporaryDirectory() as directory, ExitStack() as running:
        script = Path(directory) / "submit.lua"
        script.write_text(SUBMIT_LUA)
        env = {
            "TASKROUTERX_SIM_MIN_LATENCY_S": "0",
            "TASKROUTERX_SIM_MAX_LATENCY_S": "0",
            "TASKROUTERX_SIM_FAILURE_RATE": "0",
            "TASKROUTERX_DEMO_POOLS": "false",
        }
        if database_url is not None:
            env["TASKROUTERX_DATABASE_URL"] = database_url
        database = None if database_url is not None else Path(directory) / "e2e.db"
        urls = [running.enter_context(server("app", database, **env)) for _ in range(nodes)]
        url = urls[0]
        with httpx.Client(base_url=url, timeout=60) as client:
            for region in REGIONS:
                for kind in ("cpu", "gpu"):
                    client.post(
                        "/api/v1/workers",
                        json={
                            "name": f"{region}-{kind}",
                            "region": region,
                            "resource_type": kind,
                            "cost_per_unit": 1.0,
                            "capacity": 1_000_000,
                        },
                    ).raise_for_status()
            samples: list[tuple[float, int]] = []
            stop = threading.Event()
            started = time.perf_counter()

            def sample() -> None:
                while not stop.wait(0.5):
                    stats = client.get("/api/v1/system/stats").json()
                    samples.append(
                        (round(time.perf_counter() - started, 1), stats["tasks_pending"])
                    )

            sampler = threading.Thread(target=sample)
            sampler.start()
            loads = [
                threading.Thread(target=wrk, args=(one, 64 // nodes, seconds, script))
                for one in urls
            ]
            for load in loads:
                load.start()
            for load in loads:
                load.join()
            deadline = time.perf_counter() + 300
            while time.perf_counter() < deadline:
                stats = client.get("/api/v1/system/stats").json()
                if stats["tasks_pending"] == 0 and stats["tasks_processing"] == 0:
                    break
                time.sleep(0.05)
            finished = time.perf_counter() - started
            stop.set()
            sampler.join()
    return stats["tasks_processed"] / finished, samples, stats["tasks_pending"]
