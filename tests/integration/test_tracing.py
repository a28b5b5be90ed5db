"""OpenTelemetry traces through the real HTTP server (uvicorn on a port, in this process so
the SDK's in-memory exporter sees every span), the typed client (httpx instrumented) and a
worker of Python functions: a submission, its scheduling decision, the lease, the worker's
function and the completion are spans of one trace, and GET /api/v1/events?trace_id= finds
the task's events by it. With tracing off, no event has a trace."""

import asyncio
import contextlib
import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from application.tracing import NO_TRACING, Tracer
from infrastructure.bootstrap import bootstrap
from infrastructure.settings import Settings
from infrastructure.telemetry import OpenTelemetryTracer, instrument, provider_for
from interfaces.client import Client, ProblemError, Task
from interfaces.client.calls import Call
from interfaces.http.app import create_app
from interfaces.http.middleware.auth import KeyRing
from interfaces.http.middleware.rate_limit import RateLimiter
from interfaces.worker import Worker
from tests.e2e.support import free_port
from tests.sqlite_support import sqlite_url


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A real SQLite file, or a fresh database on the test PostgreSQL server."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    from tests.postgres_support import fresh_database

    with fresh_database() as url:
        yield url


@contextlib.contextmanager
def serving(database: str, tracer: Tracer) -> Iterator[str]:
    """The real app on `database`, served by uvicorn on a free port in a thread."""
    settings = Settings(database_url=database, simulator="off", demo_pools=False)
    keys = KeyRing.load(settings.api_keys, settings.api_keys_file)
    limiter = RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst)
    app = create_app(bootstrap(settings, tracer=tracer), settings.cors_origins,
                     settings.max_body_bytes, keys, limiter)  # fmt: skip
    instrument(app, tracer)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextlib.contextmanager
def working(url: str, provider: Any) -> Iterator[None]:
    """A worker of the external pool `lab`, its function making a span of its own."""
    worker = Worker("lab", url, worker_id="w-traced", heartbeat_s=0.2, wait_s=1.0,
                    tracer_provider=provider)  # fmt: skip

    @worker.task("order")
    async def handle(task: Task) -> None:
        tracer = provider.get_tracer("the-application") if provider else None
        if tracer is not None:
            with tracer.start_as_current_span("pack the order"):
                await asyncio.sleep(0.01)

    thread = threading.Thread(target=asyncio.run, args=(worker.serve(),), daemon=True)
    thread.start()
    try:
        yield
    finally:
        worker.stop()
        thread.join(timeout=30)


def events_of_trace(router: Client, trace_id: str) -> list[dict[str, Any]]:
    return list(router.run(Call("GET", "/events", params={"trace_id": trace_id},
                                result=lambda body: body["events"])))  # fmt: skip


def test_a_task_is_one_trace_from_submission_to_completion(database: str) -> None:
    exporter = InMemorySpanExporter()
    provider = provider_for(exporter, "taskrouterx-test", batch=False)
    with serving(database, OpenTelemetryTracer(provider)) as url:
        http = httpx.Client(base_url=url, timeout=10)
        HTTPXClientInstrumentor.instrument_client(http, tracer_provider=provider)
        router = Client(http=http)
        router.register_pool("lab", "lab", "cpu", 1.0, 2, execution="external")
        with working(url, provider):
            with provider.get_tracer("the-client").start_as_current_span("checkout") as root:
                task = router.submit("order", 5, 1.0, "lab")
            assert router.wait(task["id"], timeout_s=30)["status"] == "completed"
        trace_id = format(root.get_span_context().trace_id, "032x")
        found = events_of_trace(router, trace_id)
        http.close()
    kinds = [event["type"] for event in found if event["stream_id"] == f"task-{task['id']}"]
    assert kinds == ["TaskQueued", "WorkerAssigned", "TaskLeased", "TaskCompleted"]
    assert {event["metadata"]["trace_id"] for event in found} == {trace_id}

    spans = [span for span in exporter.get_finished_spans()
             if format(span.context.trace_id, "032x") == trace_id]  # fmt: skip
    by_name = {span.name: span for span in spans}
    chain = ["checkout", "POST", "POST /api/v1/tasks", "taskrouterx.schedule",
             "taskrouterx.lease", "taskrouterx.task order"]  # fmt: skip
    assert set(chain) <= set(by_name), sorted(by_name)
    for parent, child in itertools.pairwise(chain):
        assert _parent(by_name[child]) == by_name[parent].context.span_id, (parent, child)
    assert _parent(by_name["pack the order"]) == by_name["taskrouterx.task order"].context.span_id
    completion = by_name["POST /api/v1/tasks/{task_id}/complete"]
    assert _parent(completion) == by_name["taskrouterx.task order"].context.span_id


def test_with_tracing_off_no_event_is_traced(tmp_path: Path) -> None:
    with serving(sqlite_url(tmp_path), NO_TRACING) as url, Client(url) as router:
        router.register_pool("lab", "lab", "cpu", 1.0, 2, execution="external")
        with working(url, None):
            task = router.submit("order", 5, 1.0, "lab")
            assert router.wait(task["id"], timeout_s=30)["status"] == "completed"
        events = router.run(Call("GET", f"/tasks/{task['id']}/events",
                                 result=lambda body: body["events"]))  # fmt: skip
        with pytest.raises(ProblemError) as refused:
            events_of_trace(router, "not-a-trace-id")
    assert [event["metadata"]["trace_id"] for event in events] == [None] * len(events)
    assert refused.value.status == 422


def _parent(span: ReadableSpan) -> int | None:
    return None if span.parent is None else span.parent.span_id
