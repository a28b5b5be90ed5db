"""Prometheus metrics, with prometheus-client.

Two kinds. Counters and histograms are moved by the code that does the work (the HTTP
middleware, the event store, the single writer, the scheduler). Gauges of state (tasks by
status, the queue, pools, projection lag, due times) are read when scraped, from the read
models and the running reactors, so they can never drift from what the API shows.

When several processes serve one database (PROMETHEUS_MULTIPROC_DIR set, as
prometheus-client's multiprocess mode requires), each process writes its counters and
histograms to that directory and a scrape adds them all up; the state gauges come from the
database and are read once per scrape.
"""

import os
import time
from collections import Counter as Counter_
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from application.read_models import tenants as tenant_rows
from domain.values import TaskStatus

PREFIX = "taskrouterx"
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
DECISION_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05)

State = Callable[[], dict[str, Any]]
"""Returns the state gauges' values (see StateCollector)."""


class Metrics:
    """The counters and histograms; one instance per process (the composition root's)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        r = self.registry
        self.http_requests = Counter(
            f"{PREFIX}_http_requests", "HTTP requests answered, by route template, method "
            "and status.", ["route", "method", "status"], registry=r,
        )  # fmt: skip
        self.http_duration = Histogram(
            f"{PREFIX}_http_request_duration_seconds", "Time to answer an HTTP request.",
            ["route", "method"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.events_appended = Counter(
            f"{PREFIX}_events_appended", "Events committed to the log, by type.", ["type"],
            registry=r,
        )  # fmt: skip
        self.append_duration = Histogram(
            f"{PREFIX}_event_store_commit_duration_seconds", "Time from the start of a write "
            "transaction (a group commit) to its durable commit.", buckets=LATENCY_BUCKETS,
            registry=r,
        )  # fmt: skip
        self.lock_held = Histogram(
            f"{PREFIX}_event_store_write_lock_held_seconds", "Time a write transaction held "
            "the database's write lock (BEGIN IMMEDIATE on SQLite, the events table's "
            "EXCLUSIVE lock on PostgreSQL) until its commit returned: appends wait that long "
            "behind it, from this node or another.", buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.commit_failures = Counter(
            f"{PREFIX}_event_store_commit_failures", "Write transactions that failed to "
            "commit (database locked past the busy timeout, disk full, I/O error, connection "
            "lost): nothing of them was acknowledged.", registry=r,
        )  # fmt: skip
        self.batch_size = Histogram(
            f"{PREFIX}_group_commit_batch_size", "Commands sharing one write transaction.",
            buckets=BATCH_BUCKETS, registry=r,
        )  # fmt: skip
        self.decision_duration = Histogram(
            f"{PREFIX}_scheduling_decision_duration_seconds", "Time to decide a placement, by "
            "algorithm.", ["algorithm"], buckets=DECISION_BUCKETS, registry=r,
        )  # fmt: skip
        self.decisions = Counter(
            f"{PREFIX}_scheduling_decisions", "Scheduling decisions recorded, by algorithm and "
            "outcome (assigned or deferred).", ["algorithm", "outcome"], registry=r,
        )  # fmt: skip
        self.rebuild_duration = Histogram(
            f"{PREFIX}_projection_rebuild_duration_seconds", "Time a projection rebuild took.",
            ["projection"], buckets=(0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600), registry=r,
        )  # fmt: skip

        self.archived_events = Counter(
            f"{PREFIX}_archived_events", "Events written to archive segments by retention.",
            registry=r,
        )  # fmt: skip
        self.archived_bytes = Counter(
            f"{PREFIX}_archived_bytes", "Bytes of archive segments written by retention.",
            registry=r,
        )  # fmt: skip
        self.removed_events = Counter(
            f"{PREFIX}_removed_events", "Archived events removed from the hot log by retention.",
            registry=r,
        )  # fmt: skip
        self.archive_runs = Counter(
            f"{PREFIX}_archive_runs", "Retention batches, by outcome (ok or failed).",
            ["outcome"], registry=r,
        )  # fmt: skip

    def archive_run(self, archived: int, size: int, removed: int, failed: bool) -> None:
        self.archived_events.inc(archived)
        self.archived_bytes.inc(size)
        self.removed_events.inc(removed)
        self.archive_runs.labels("failed" if failed else "ok").inc()

    def decided(self, algorithm: str, seconds: float) -> None:
        self.decision_duration.labels(algorithm).observe(seconds)

    def recorded(self, algorithm: str, outcome: str) -> None:
        self.decisions.labels(algorithm, outcome).inc()

    def committed(self, types: Iterable[str], seconds: float, locked: float) -> None:
        """One write transaction committed: its events, its duration, and how long of it
        the write lock was held."""
        for kind, count in Counter_(types).items():
            self._child(self.events_appended, (kind,)).inc(count)
        self.append_duration.observe(seconds)
        self.lock_held.observe(locked)

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        self._child(self.http_requests, (route, method, str(status))).inc()
        self._child(self.http_duration, (route, method)).observe(seconds)

    def _child(self, metric: Any, labels: tuple[str, ...]) -> Any:
        """A labelled child, remembered: `labels()` takes a lock and builds a key on every
        call, and these are called for every request and every event."""
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def commit_failed(self) -> None:
        self.commit_failures.inc()

    def batched(self, commands: int) -> None:
        self.batch_size.observe(commands)

    @contextmanager
    def rebuilding(self, projection: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.rebuild_duration.labels(projection).observe(time.perf_counter() - started)


class StateCollector(Collector):
    """Gauges read at scrape time from `state()`: {"tasks": {status: n}, "pools": [...],
    "tenants": [{name, queued, delayed, processing, ...}],
    "lags": {projection: events behind}, "queue": n, "due": n, "reactors": {name:
    (failed rounds in all, failed rounds in a row now)}}."""

    def __init__(self, state: State) -> None:
        self._state = state

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        state = self._state()
        tasks = GaugeMetricFamily(f"{PREFIX}_tasks", "Tasks by status.", labels=["status"])
        for status in TaskStatus:
            tasks.add_metric([str(status)], state["tasks"].get(str(status), 0))
        yield tasks
        yield GaugeMetricFamily(
            f"{PREFIX}_queue_length", "Tasks waiting for a pool (queued).", value=state["queue"]
        )
        by_tenant = GaugeMetricFamily(
            f"{PREFIX}_tenant_tasks",
            "A tenant's tasks waiting (queued, delayed) and running (processing).",
            labels=["tenant", "status"],
        )
        for tenant in state.get("tenants", ()):
            for active in tenant_rows.COUNTED:
                by_tenant.add_metric([tenant["name"], active], tenant[active])
        yield by_tenant
        yield GaugeMetricFamily(
            f"{PREFIX}_due_times", "Due times the timekeeper holds (delays, leases, timeouts).",
            value=state["due"],
        )  # fmt: skip
        labels = ["pool", "region", "resource_type", "execution"]
        families = {
            "current_load": GaugeMetricFamily(
                f"{PREFIX}_pool_load", "Tasks running in the pool.", labels=labels
            ),
            "capacity": GaugeMetricFamily(
                f"{PREFIX}_pool_capacity", "Tasks the pool may run at once.", labels=labels
            ),
            "utilization": GaugeMetricFamily(
                f"{PREFIX}_pool_utilization_ratio",
                "Load over capacity (0 when capacity is 0).",
                labels=labels,
            ),
        }
        for pool in state["pools"]:
            values = [pool["name"], pool["region"], pool["resource_type"], pool["execution"]]
            for field, family in families.items():
                value = pool[field] / 100 if field == "utilization" else pool[field]
                family.add_metric(values, value)
        yield from families.values()
        lag = GaugeMetricFamily(
            f"{PREFIX}_projection_lag_events",
            "Events in the log the projection has not applied yet.",
            labels=["projection"],
        )
        for name, behind in state["lags"].items():
            lag.add_metric([name], behind)
        yield lag
        failures = CounterMetricFamily(
            f"{PREFIX}_reactor_failures",
            "Rounds of the scheduler, timekeeper or simulator that failed to write (their "
            "work was put back and retried).",
            labels=["reactor"],
        )
        failing = GaugeMetricFamily(
            f"{PREFIX}_reactor_consecutive_failures",
            "Failed rounds in a row, now (0 once a round succeeds): alert when it stays above 0.",
            labels=["reactor"],
        )
        for name, (total, in_a_row) in state["reactors"].items():
            failures.add_metric([name], total)
            failing.add_metric([name], in_a_row)
        yield failures
        yield failing
        archive = state.get("archive")
        if archive is not None:
            yield GaugeMetricFamily(
                f"{PREFIX}_log_start_position", "The last position archived and removed; the "
                "hot log starts after it (0: nothing removed).", value=archive["start"],
            )  # fmt: skip
            yield GaugeMetricFamily(
                f"{PREFIX}_archive_segments", "Archive segments holding removed events.",
                value=archive["segments"],
            )  # fmt: skip
            yield GaugeMetricFamily(
                f"{PREFIX}_archive_segment_bytes", "Bytes of those segments.",
                value=archive["bytes"],
            )  # fmt: skip


def render(
    metrics: Metrics, state: State | None, requests: bool = True, requests_only: bool = False
) -> tuple[bytes, str]:
    """The exposition text and its content type: this process's metrics, or every
    process's in multiprocess mode, and the state gauges. A node served from two processes
    renders the HTTP requests' metrics in one (`requests_only`, no state) and the rest in
    the other (`requests=False`)."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Forward(metrics.registry, requests, not requests_only))
    if state is not None:
        registry.register(StateCollector(state))
    return generate_latest(registry), CONTENT_TYPE_LATEST


REQUEST_METRICS = f"{PREFIX}_http_"


class _Forward(Collector):
    def __init__(self, registry: CollectorRegistry, requests: bool, others: bool) -> None:
        self._registry = registry
        self._requests = requests
        self._others = others

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        for family in self._registry.collect():
            if self._requests if family.name.startswith(REQUEST_METRICS) else self._others:
                yield family
