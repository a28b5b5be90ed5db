"""Benchmark: what open event streams cost everyone else. GET /tasks and POST /tasks at a
fixed rate (open loop: requests start on schedule whether or not earlier ones finished),
their p50 and p99 with no streams open, then with `stream_count` streams whose filter
matches nothing (what holding them costs), then live, then with half of those replaying
the log from position 0, all against one server in one run. Also
the server's RSS before, with the streams, and after they closed. The streams are read by
a child process, so reading them does not delay the load generator's own event loop."""

import asyncio
import multiprocessing
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import httpx

from tests.benchmarks.harness import Report, Row, Scale
from tests.benchmarks.servers import rss_mb, server

TASK = {"type": "order", "priority": 5, "cost": 1.0, "region": "eu-west"}


@dataclass(frozen=True)
class Latencies:
    get_p50_ms: float
    get_p99_ms: float
    post_p50_ms: float
    post_p99_ms: float
    errors: int


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def timed_load(url: str, seconds: float, rate: float) -> Latencies:
    """`rate` GETs and `rate` POSTs a second, each started on schedule."""
    gets: list[float] = []
    posts: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def one(method: str, path: str, into: list[float]) -> None:
            nonlocal errors
            started = time.perf_counter()
            try:
                response = await client.request(
                    method, path, json=TASK if method == "POST" else None
                )
                if response.status_code >= 400:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
                return
            into.append((time.perf_counter() - started) * 1000)

        pending = []
        start = time.perf_counter()
        sent = 0
        while (now := time.perf_counter() - start) < seconds:
            due = sent / rate
            if now < due:
                await asyncio.sleep(due - now)
            pending.append(asyncio.create_task(one("GET", "/api/v1/tasks?page_size=20", gets)))
            pending.append(asyncio.create_task(one("POST", "/api/v1/tasks", posts)))
            sent += 1
        await asyncio.gather(*pending)
    return Latencies(
        statistics.median(gets) if gets else float("nan"),
        percentile(gets, 0.99),
        statistics.median(posts) if posts else float("nan"),
        percentile(posts, 0.99),
        errors,
    )


async def read_streams(
    url: str, count: int, replaying: int, opened: Callable[[], None], query: str = ""
) -> None:
    """`count` SSE readers (the first `replaying` from position 0, the rest from the
    head), each reading and dropping everything, until cancelled."""
    host, port = url.removeprefix("http://").split(":")
    async with httpx.AsyncClient(base_url=url) as client:
        head = (await client.get("/api/v1/events", params={"limit": 1})).json()["head"]
    connections = []
    writers = []  # kept: a writer collected closes its connection
    for index in range(count):
        reader, writer = await asyncio.open_connection(host, int(port))
        after = 0 if index < replaying else head
        writer.write(
            f"GET /api/v1/events/stream?after={after}{query} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
        )
        connections.append(reader)
        writers.append(writer)
    for reader in connections:
        await reader.read(65536)
    opened()

    async def drain(reader: asyncio.StreamReader) -> None:
        while await reader.read(65536):
            pass

    await asyncio.gather(*(drain(reader) for reader in connections))


def stream_readers(url: str, count: int, replaying: int, ready: "Connection", query: str) -> None:
    """A child process holding the streams, so reading them does not slow the load
    generator's own clock."""
    asyncio.run(read_streams(url, count, replaying, lambda: ready.send(True), query))


@contextmanager
def streams_open(url: str, count: int, replaying: int, query: str = "") -> Iterator[None]:
    receiving, sending = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.get_context("spawn").Process(
        target=stream_readers, args=(url, count, replaying, sending, query), daemon=True
    )
    child.start()
    try:
        if not receiving.poll(120):
            raise RuntimeError("the streams did not open")
        yield
    finally:
        child.terminate()
        child.join(10)


async def scenario(url: str, scale: Scale) -> dict[str, Latencies | float]:
    seconds, rate, count = scale.stream_seconds, scale.stream_rate, scale.stream_count
    # a log to replay: a few thousand events before anything is measured
    await timed_load(url, max(1.0, seconds / 2), rate * 4)
    results: dict[str, Latencies | float] = {"rss_before": rss_mb(url)}
    results["none"] = await timed_load(url, seconds, rate)
    with streams_open(url, count, 0, "&type=NoSuchType"):
        results["silent"] = await timed_load(url, seconds, rate)
    with streams_open(url, count, 0):
        results["live"] = await timed_load(url, seconds, rate)
        results["rss_live"] = rss_mb(url)
    with streams_open(url, count, count // 2):
        results["replaying"] = await timed_load(url, seconds, rate)
    await asyncio.sleep(1)
    results["rss_after"] = rss_mb(url)
    return results


def run(scale: Scale, report: Report) -> None:
    with (
        tempfile.TemporaryDirectory() as directory,
        server("app", Path(directory) / "streams.db") as url,
    ):
        results = asyncio.run(scenario(url, scale))
    none = results["none"]
    assert isinstance(none, Latencies)
    count = scale.stream_count
    cases = (
        ("silent", f"{count} filtered to nothing (held, never sent to)"),
        ("live", f"{count} live"),
        ("replaying", f"{count}, half from 0"),
    )
    for case, label in cases:
        with_streams = results[case]
        assert isinstance(with_streams, Latencies)
        for name in ("get_p50_ms", "get_p99_ms", "post_p50_ms", "post_p99_ms"):
            target = "<= 1.5x" if name.endswith("p99_ms") else None
            report.add(
                Row(
                    "streams",
                    f"{label} streams, {scale.stream_rate:g} GET + POST/s",
                    name.removesuffix("_ms").replace("_", " ").replace("get", "GET /tasks")
                    .replace("post", "POST /tasks"),
                    getattr(with_streams, name),
                    "ms",
                    "no streams",
                    getattr(none, name),
                    target,
                )
            )  # fmt: skip
        report.add(
            Row("streams", f"{label} streams", "errors", with_streams.errors, "",
                "no streams", none.errors)
        )  # fmt: skip
    for name in ("rss_live", "rss_after"):
        value = results[name]
        assert isinstance(value, float)
        before = results["rss_before"]
        assert isinstance(before, float)
        report.add(
            Row("streams", name.replace("rss_", "server RSS, "), "RSS", value, "MB",
                "before streams", before)
        )  # fmt: skip
