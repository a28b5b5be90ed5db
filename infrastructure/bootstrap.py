"""The composition root: builds the whole system from settings. Nothing runs until
`start()`; tests override the clock, ids or settings."""

import random
import socket
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from application.aggregates import Aggregates
from application.audit.verify import AuditReport, verify_log
from application.audit.verify import Progress as AuditProgress
from application.bus import CommandBus
from application.commit_signal import CommitSignal
from application.idempotency import Outcome, Render, Response, once
from application.lifecycle.timekeeper import Timekeeper
from application.messages import Command, MessageContext
from application.ports import Clock, IdGenerator
from application.reactor import Reactor
from application.scheduling.scheduler import Scheduler
from application.simulation.demo_pools import register_demo_pools
from application.simulation.traffic import TrafficGenerator
from application.simulation.workers import SimulatedWorkers, SimulationSettings
from infrastructure.clock import RandomIds, SystemClock
from infrastructure.metrics import Metrics, render
from infrastructure.projection_admin import ProjectionAdmin
from infrastructure.replication.postgres_nodes import Leadership, LogWatcher
from infrastructure.settings import Settings
from infrastructure.single_writer import SingleWriter, lane_of
from infrastructure.sql import migrate
from infrastructure.sql.engine import Engines, create_engines
from infrastructure.sql.event_store import SqlEventStore
from infrastructure.sql.idempotency import SqlIdempotencyRecords
from infrastructure.sql.projections.pool_load import PoolLoadProjection
from infrastructure.sql.projections.runner import ProjectionRunner
from infrastructure.sql.projections.stats import StatsProjection
from infrastructure.sql.projections.tasks import TasksProjection
from infrastructure.sql.queries import SqlReadModel
from infrastructure.sql.replay_inputs import SqlReplayInputs
from infrastructure.sql.state_sources import SqlStateSource
from infrastructure.sql.time_travel import SqlTimeTravel

log = structlog.get_logger(__name__)


@dataclass
class TaskRouter:
    settings: Settings
    clock: Clock
    engines: Engines
    signal: CommitSignal
    store: SqlEventStore
    runner: ProjectionRunner
    read_model: SqlReadModel
    bus: CommandBus
    sender: SingleWriter
    traffic: TrafficGenerator
    projections: ProjectionAdmin
    time_travel: SqlTimeTravel
    replays: SqlReplayInputs
    metrics: Metrics = field(default_factory=Metrics)
    scheduler: Scheduler | None = None
    timekeeper: Timekeeper | None = None
    workers: SimulatedWorkers | None = None
    watcher: LogWatcher | None = None
    """On PostgreSQL: relays other nodes' commits to this node's reactors."""
    leadership: Leadership | None = None
    """On PostgreSQL: runs the scheduler, timekeeper and simulated workers on one node at a
    time."""
    started: bool = field(default=False)
    _head: str | None = field(default=None, repr=False)

    @property
    def reactors(self) -> list[Any]:
        return [r for r in (self.scheduler, self.timekeeper, self.workers) if r is not None]

    @property
    def lease_s(self) -> float:
        return self.settings.lease_s

    def subscribe_commits(self, listener: Callable[[], None]) -> Callable[[], None]:
        return self.signal.subscribe(listener)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.metrics.request(route, method, status, seconds)

    def metrics_exposition(self) -> tuple[bytes, str]:
        return render(self.metrics, self._metric_state)

    def _metric_state(self) -> dict[str, Any]:
        counts = self.read_model.status_counts()
        positions, head = self.read_model.projection_positions()
        return {
            "tasks": counts,
            "queue": counts.get("queued", 0),
            "pools": self.read_model.list_pools(),
            "lags": {name: head - positions.get(name, 0) for name in self.runner.names},
            "due": 0 if self.timekeeper is None else self.timekeeper.outlook[0],
            "reactors": {
                reactor.name: (
                    reactor.failures_total,
                    0 if reactor.failing is None else reactor.failing.failures,
                )
                for reactor in self.reactors
            },
        }

    def start(self) -> None:
        """Migrate, catch projections up, then start the writer and the reactors."""
        revision = migrate.upgrade(self.engines.write)
        caught_up = self.runner.catch_up_all()
        self.sender.start()
        registered = register_demo_pools(self.store, self.sender) if self.settings.demo_pools else 0
        if self.watcher is not None:
            self.watcher.start()
        if self.leadership is not None:
            self.leadership.start()
        else:
            for reactor in self.reactors:
                reactor.start()
        threading.Thread(
            target=self._warm_time_travel, name="time-travel-warm", daemon=True
        ).start()
        self.started = True
        log.info(
            "taskrouterx.started",
            revision=revision,
            head=self.store.head(),
            projections_caught_up=caught_up,
            demo_pools_registered=registered,
            scheduler=self.scheduler is not None,
            simulator=self.workers is not None,
        )

    def submit_once(
        self,
        key: str,
        fingerprint: str,
        command: Command,
        context: MessageContext,
        render: Render,
    ) -> "Future[Outcome]":
        records = SqlIdempotencyRecords(self.store)
        ttl = timedelta(seconds=self.settings.idempotency_ttl_s)

        def act() -> Response:
            return render(self.bus.handle(command, context), self.store.read_stream)

        return self.sender.run(
            lambda: once(records, self.clock, ttl, key, fingerprint, act),
            lane_of(command),
            batchable=True,
        )

    def _warm_time_travel(self) -> None:
        try:
            self.time_travel.warm()
        except Exception as error:  # an optimization only: queries summarize on demand
            log.warning("time_travel.warm_failed", error=str(error))

    def audit(self, progress: AuditProgress | None = None) -> AuditReport:
        """Recompute every decision, check the invariants and walk the hash chain."""
        return verify_log(self.store, self.store, progress)

    def stop(self) -> None:
        self.traffic.stop()
        if self.leadership is not None:
            self.leadership.stop()
        for reactor in reversed(self.reactors):
            reactor.stop()
        if self.watcher is not None:
            self.watcher.stop()
        self.sender.stop()
        self.store.close()
        self.engines.dispose()
        self.started = False
        log.info("taskrouterx.stopped")

    def scheduler_runtime(self) -> dict[str, Any]:
        scheduler = self.scheduler
        head = self.store.head()
        if scheduler is None:
            return {"status": "off"}
        counters = scheduler.counters
        return {
            **_reactor_state(scheduler, self._following),
            "position": scheduler.position,
            "lag": None if self._following else max(head - scheduler.position, 0),
            "waiting": scheduler.waiting,
            "claimed_slots": scheduler.claimed_slots,
            "assigned": counters.assigned,
            "deferred": counters.deferred,
            "rejected": counters.rejected,
        }

    @property
    def _following(self) -> bool:
        """On PostgreSQL, another node leads: this one's reactors stand by."""
        return self.leadership is not None and not self.leadership.leading

    @property
    def _reactors_running(self) -> bool:
        return all(reactor.running for reactor in self.reactors)

    def readiness(self) -> dict[str, Any]:
        """Whether this node can serve, check by check (see GET /api/v1/ready)."""
        checks: dict[str, dict[str, Any]] = {}
        try:
            self.read_model.ping()
            current = migrate.current_revision(self.engines.read)
        except Exception as error:
            log.warning("ready.database_unreachable", error=str(error))
            checks["database"] = {"ok": False, "error": "the database cannot be reached"}
            return {"ready": False, "checks": checks}
        checks["database"] = {"ok": True}
        head = self._schema_head()
        checks["migrations"] = {"ok": current == head, "current": current, "head": head}
        positions, log_head = self.read_model.projection_positions()
        lags = {name: log_head - positions.get(name, 0) for name in self.runner.names}
        rebuilding = self.projections.rebuilding()
        checks["projections"] = {
            "ok": not rebuilding
            and all(lag <= self.settings.ready_max_lag for lag in lags.values()),
            "lags": lags,
            "max_lag": self.settings.ready_max_lag,
            "rebuilding": rebuilding,
        }
        checks["writer"] = {"ok": self.sender.running}
        if self.scheduler is None:
            checks["scheduler"] = {"ok": True, "state": "off"}
        elif self._following:
            leader = self.leadership.leader_node if self.leadership is not None else None
            checks["scheduler"] = {
                "ok": True,
                "state": f"standby ({leader or 'another node'} leads)",
                "leader_node": leader,
            }
        else:
            running = self._reactors_running
            checks["scheduler"] = {"ok": running, "state": "running" if running else "stopped"}
        return {"ready": all(check["ok"] for check in checks.values()), "checks": checks}

    def _schema_head(self) -> str | None:
        """The newest migration this code knows (read once: it cannot change while running)."""
        if self._head is None:
            self._head = migrate.head_revision(self.engines.write)
        return self._head

    def _timekeeper_runtime(self) -> dict[str, Any]:
        timekeeper = self.timekeeper
        if timekeeper is None:
            return {"status": "off"}
        pending, upcoming = timekeeper.outlook
        return {
            **_reactor_state(timekeeper, self._following),
            "due": pending,
            "next_due_at": None if upcoming is None else upcoming.isoformat(),
            "fired": timekeeper.fired,
        }

    def _simulator_runtime(self) -> dict[str, Any]:
        workers = self.workers
        if workers is None:
            return {"status": "off"}
        return {**_reactor_state(workers, self._following), "running_tasks": workers.in_flight}

    def health(self) -> dict[str, Any]:
        try:
            self.read_model.ping()
            queue_size = self.read_model.queue_size()
            database = "connected"
        except Exception as error:
            log.warning("health.database_unreachable", error=str(error))
            database, queue_size = "unreachable", None
        scheduler = self.scheduler_runtime()
        writer_ok = self.sender.running
        reactors_ok = self._following or self._reactors_running
        healthy = database == "connected" and writer_ok and reactors_ok
        failing = any(reactor.failing is not None for reactor in self.reactors)
        return {
            "status": ("degraded" if failing else "healthy") if healthy else "unhealthy",
            "database": database,
            "queue": {"size": queue_size, "writer_backlog": self.sender.backlog},
            "writer": {
                "transactions": self.sender.batches,
                "commands": self.sender.batched_commands,
            },
            "scheduler": scheduler,
            "timekeeper": self._timekeeper_runtime(),
            "leader": None if self.leadership is None else self.leadership.leading,
            "node": None if self.leadership is None else self.leadership.node,
            "leader_node": None if self.leadership is None else self.leadership.leader_node,
            "simulator": self._simulator_runtime(),
        }


def _reactor_state(reactor: Reactor, standby: bool = False) -> dict[str, Any]:
    """Whether a reactor runs (or stands by while another node leads), and while its
    rounds fail, since when, how often, and why."""
    failing = reactor.failing
    if standby:
        status = "standby"
    elif not reactor.running:
        status = "stopped"
    else:
        status = "running" if failing is None else "failing"
    return {
        "status": status,
        "last_error": None if failing is None else failing.error,
        "failing_since": None
        if failing is None
        else datetime.fromtimestamp(failing.since, UTC).isoformat(),
        "consecutive_failures": 0 if failing is None else failing.failures,
        "retry_in_s": None if failing is None else failing.retry_in_s,
    }


def bootstrap(
    settings: Settings | None = None,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
) -> TaskRouter:
    settings = settings or Settings()
    clock = clock or SystemClock()
    ids = ids or RandomIds(settings.id_seed)
    engines = create_engines(
        settings.database_url, settings.sqlite_synchronous, settings.busy_timeout_ms
    )
    signal = CommitSignal()
    runner = ProjectionRunner(
        [TasksProjection(), PoolLoadProjection(), StatsProjection()],
        engines.write,
    )
    metrics = Metrics()
    store = SqlEventStore(engines.write, engines.read, clock, ids, signal, runner, metrics)
    read_model = SqlReadModel(engines.read)
    aggregates = Aggregates(store)
    bus = CommandBus(aggregates, clock, ids, jitter=random.Random(settings.id_seed).random)

    def aborted() -> None:
        aggregates.clear()
        metrics.commit_failed()

    writer = SingleWriter(
        bus,
        transactions=store,
        on_abort=aborted,
        on_batch=metrics.batched,
        lock_wait_s=settings.busy_timeout_ms / 1000,
    )
    system_lane = writer.system()
    state_source = SqlStateSource(engines.read)
    scheduler = (
        Scheduler(store, system_lane, state_source, signal, metrics)
        if settings.scheduler == "on"
        else None
    )
    timekeeper = (
        Timekeeper(store, system_lane, state_source, signal, clock)
        if settings.scheduler == "on"
        else None
    )
    workers = (
        SimulatedWorkers(
            store,
            system_lane,
            state_source,
            signal,
            SimulationSettings(
                settings.sim_min_latency_s,
                settings.sim_max_latency_s,
                settings.sim_failure_rate,
                settings.sim_seed,
            ),
        )
        if settings.simulator == "on"
        else None
    )
    traffic = TrafficGenerator(
        writer,
        clock,
        ids,
        lambda: sorted({pool["region"] for pool in read_model.list_pools()}),
        settings.sim_seed,
    )
    several_nodes = engines.write.dialect.name == "postgresql"
    reactors = [reactor for reactor in (scheduler, timekeeper, workers) if reactor is not None]
    return TaskRouter(
        watcher=LogWatcher(settings.database_url, signal) if several_nodes else None,
        leadership=Leadership(
            settings.database_url, reactors, node=f"{socket.gethostname()}:{settings.port}"
        )
        if several_nodes
        else None,
        settings=settings,
        clock=clock,
        engines=engines,
        signal=signal,
        store=store,
        runner=runner,
        read_model=read_model,
        bus=bus,
        sender=writer,
        traffic=traffic,
        projections=ProjectionAdmin(runner, read_model, writer, metrics),
        metrics=metrics,
        time_travel=SqlTimeTravel(engines.read),
        replays=SqlReplayInputs(engines.read),
        scheduler=scheduler,
        timekeeper=timekeeper,
        workers=workers,
    )
