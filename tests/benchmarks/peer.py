"""Benchmark: a real peer in the same run. Dramatiq on Redis (Debian's redis-server,
started here with AOF and `appendfsync always`, so an enqueue is on disk before it is
acknowledged, as a submission is here) against this server on SQLite (synchronous=FULL):

- submissions: wrk at 64 connections POSTing tasks, against 64 producer threads sending
  messages to a no-op actor, for the same time;
- end to end: the same load, then until every task or message has run, against a server
  with zero-latency simulated workers and Dramatiq's worker with 2 processes x 8 threads
  (its actor counts itself done with one INCR, so the end is seen).

Runs alternate; medians."""

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.benchmarks import end_to_end
from tests.benchmarks.harness import Report, Row, Scale
from tests.benchmarks.http_load import SUBMIT_LUA, wrk
from tests.benchmarks.servers import ensure_installed, free_port, server

PRODUCERS = 64
CASE = "64 connections / 64 producer threads"


def run(scale: Scale, report: Report) -> None:
    seconds = max(scale.http_seconds, 1)
    figures: dict[str, list[float]] = {"ours": [], "enqueues": [], "ours e2e": [], "e2e": []}
    with tempfile.TemporaryDirectory() as directory, redis_server(Path(directory)) as url:
        script = Path(directory) / "submit.lua"
        script.write_text(SUBMIT_LUA)
        for attempt in range(scale.runs):
            with server("app", Path(directory) / f"peer-{attempt}.db") as app:
                figures["ours"].append(wrk(app, 64, seconds, script).requests_per_s)
            figures["enqueues"].append(enqueues_per_s(url, seconds))
            figures["ours e2e"].append(end_to_end.one_run(seconds)[0])
            figures["e2e"].append(dramatiq_end_to_end(url, seconds))
    middle = {name: statistics.median(values) for name, values in figures.items()}
    report.add(Row("peer", CASE, "submissions/s", middle["ours"], "req/s",
                   "Dramatiq on Redis (AOF, fsync always): enqueues/s", middle["enqueues"],
                   ">= 1.0x"))  # fmt: skip
    report.add(Row("peer", CASE, "end to end tasks/s", middle["ours e2e"], "tasks/s",
                   "Dramatiq, 2 processes x 8 threads", middle["e2e"], ">= 1.0x"))  # fmt: skip


@contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    """A Redis server of its own on a free port, appending every write to its AOF and
    fsyncing it before answering; stopped afterwards."""
    binary = ensure_installed("redis-server", "redis-server")
    port = free_port()
    data = directory / "redis"
    data.mkdir()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data),
         "--appendonly", "yes", "--appendfsync", "always", "--save", "",
         "--protected-mode", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    try:
        _wait_for(url)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_for(url: str) -> None:
    import redis

    deadline = time.monotonic() + 30
    while True:
        try:
            redis.Redis.from_url(url).ping()
            return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _actors(url: str):  # type: ignore[no-untyped-def]
    os.environ["PEER_REDIS_URL"] = url
    from tests.benchmarks import dramatiq_actors

    return dramatiq_actors


def _produce(url: str, seconds: float) -> int:
    """Messages sent by PRODUCERS threads for `seconds`."""
    actors = _actors(url)
    sent = [0] * PRODUCERS
    deadline = time.perf_counter() + seconds

    def producer(index: int) -> None:
        while time.perf_counter() < deadline:
            actors.noop.send()
            sent[index] += 1

    threads = [threading.Thread(target=producer, args=(i,)) for i in range(PRODUCERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(sent)


def enqueues_per_s(url: str, seconds: float) -> float:
    import redis

    redis.Redis.from_url(url).flushall()
    started = time.perf_counter()
    sent = _produce(url, seconds)
    return sent / (time.perf_counter() - started)


def dramatiq_end_to_end(url: str, seconds: float) -> float:
    """Messages run per second, from the first sent until every one has run."""
    import redis

    client = redis.Redis.from_url(url)
    client.flushall()
    actors = _actors(url)
    workers = subprocess.Popen(
        [sys.executable, "-m", "dramatiq", "tests.benchmarks.dramatiq_actors",
         "--processes", "2", "--threads", "8"],
        env={**os.environ, "PEER_REDIS_URL": url, "PYTHONPATH": os.getcwd()},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        actors.noop.send()  # the workers are up once this one has run
        _until(lambda: int(client.get(actors.DONE) or 0) >= 1)
        client.set(actors.DONE, 0)
        started = time.perf_counter()
        sent = _produce(url, seconds)
        _until(lambda: int(client.get(actors.DONE) or 0) >= sent)
        return sent / (time.perf_counter() - started)
    finally:
        workers.terminate()
        workers.wait(timeout=60)


def _until(check, timeout: float = 300) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the peer did not finish in time")
        time.sleep(0.01)
