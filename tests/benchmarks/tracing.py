"""Benchmark: what tracing costs. Submissions/s at 64 connections (wrk) against a server
with tracing off (the default) and one with it on (`OTEL_TRACES_EXPORTER=console`, spans
serialized and written, to /dev/null here), alternating, in the same run; and the hooks a
submission passes with tracing off (the flag the request's context, the scheduler's command
and the lease test, and the event store's look for a trace), timed per call, beside a
submission's share of a second at the measured rate."""

import statistics
import tempfile
import timeit
from pathlib import Path

from application.messages import MessageContext
from application.tracing import NO_TRACING
from infrastructure.sql import event_store
from tests.benchmarks.harness import Report, Row, Scale
from tests.benchmarks.http_load import SUBMIT_LUA, wrk
from tests.benchmarks.servers import server

CASE = "64 connections, POST /api/v1/tasks"
HOOK_CALLS = 1_000_000


def run(scale: Scale, report: Report) -> None:
    seconds = max(scale.http_seconds, 1)
    rates: dict[str, list[float]] = {"off": [], "on": []}
    with tempfile.TemporaryDirectory() as directory:
        script = Path(directory) / "submit.lua"
        script.write_text(SUBMIT_LUA)
        for attempt in range(scale.runs):
            for mode in ("off", "on"):
                env = {"OTEL_TRACES_EXPORTER": "console"} if mode == "on" else {}
                with server("app", Path(directory) / f"tracing-{attempt}-{mode}.db", **env) as url:
                    rates[mode].append(wrk(url, 64, seconds, script).requests_per_s)
    off, on = statistics.median(rates["off"]), statistics.median(rates["on"])
    report.add(Row("tracing", CASE, "submissions/s, tracing off", off, "req/s",
                   "tracing on (console exporter)", on, ">= 1.0x"))  # fmt: skip
    report.add(Row("tracing", "tracing off", "hooks per submission", hooks_ns(), "ns",
                   "a submission's share of a second at the rate above", 1e9 / off,
                   "< 0.01x"))  # fmt: skip


def hooks_ns() -> float:
    """Nanoseconds of the tracing hooks one submission passes with tracing off: the
    request context's and the scheduler's flag tests, and the event store's trace rows."""
    context = MessageContext("c")
    seconds = timeit.timeit(
        lambda: (NO_TRACING.enabled, NO_TRACING.enabled, event_store._traces(context, ())),
        number=HOOK_CALLS,
    )
    empty = timeit.timeit(lambda: None, number=HOOK_CALLS)  # the loop's own cost
    return max(seconds - empty, 0.0) / HOOK_CALLS * 1e9
