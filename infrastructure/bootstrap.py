"""The composition root: builds the whole system from settings. Nothing runs until
`start()`; tests override the clock, ids or settings."""

import functools
import itertools
import random
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog

from application.aggregates import Aggregates
from application.audit.continuous import ContinuousVerification, VerificationJobs
from application.audit.verify import AuditReport, verify_log
from application.audit.verify import Progress as AuditProgress
from application.bus import CommandBus
from application.commit_signal import CommitSignal
from application.lifecycle.timekeeper import Timekeeper
from application.ports import Clock, IdGenerator
from application.scheduling.scheduler import Scheduler
from application.simulation.demo_pools import register_demo_pools
from application.simulation.traffic import TrafficGenerator
from application.simulation.workers import SimulatedWorkers, SimulationSettings
from application.tracing import NO_TRACING, Tracer
from infrastructure.archive import archiver, removal, segments
from infrastructure.archive.archived_log import ArchivedLog
from infrastructure.archive.retention import Retention, RetentionRun, reclaim
from infrastructure.archive.segments import ArchiveDamaged
from infrastructure.archive.tiered_log import TieredLog
from infrastructure.clock import SystemClock, TimeOrderedIds
from infrastructure.health import NodeHealth
from infrastructure.housekeeping import Housekeeping
from infrastructure.idempotent_commands import IdempotentCommands
from infrastructure.ipc.front_node import FrontNode, RemoteSender
from infrastructure.ipc.verifier_link import VerifierLink
from infrastructure.ipc.writer_link import WriterLink, exit_failed, exit_this_process
from infrastructure.metrics import Metrics, render
from infrastructure.projection_admin import ProjectionAdmin
from infrastructure.replication.postgres_nodes import Leadership, LogWatcher
from infrastructure.settings import Settings
from infrastructure.single_writer import SingleWriter
from infrastructure.sql import log_start, migrate, verify_in_parts
from infrastructure.sql.engine import Engines, create_engines
from infrastructure.sql.event_store import SqlEventStore
from infrastructure.sql.projections.pool_load import PoolLoadProjection
from infrastructure.sql.projections.runner import ProjectionRunner
from infrastructure.sql.projections.stats import StatsProjection
from infrastructure.sql.projections.tasks import TasksProjection
from infrastructure.sql.projections.tenants import TenantsProjection
from infrastructure.sql.queries import SqlReadModel
from infrastructure.sql.replay_inputs import SqlReplayInputs
from infrastructure.sql.snapshots import SnapshotsProjection
from infrastructure.sql.state_sources import SqlStateSource
from infrastructure.sql.time_travel import SqlTimeTravel
from infrastructure.sql.timestamps import iso
from infrastructure.telemetry import tracer_for

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
    node_health: NodeHealth
    idempotent: IdempotentCommands
    verifications: VerificationJobs
    """Full verifications from position 0, started on request."""
    verifier: ContinuousVerification | None = None
    """Verifies each new event as it is committed (on every node)."""
    metrics: Metrics = field(default_factory=Metrics)
    scheduler: Scheduler | None = None
    timekeeper: Timekeeper | None = None
    workers: SimulatedWorkers | None = None
    watcher: LogWatcher | None = None
    """On PostgreSQL: relays other nodes' commits to this node's reactors."""
    leadership: Leadership | None = None
    """On PostgreSQL: runs the scheduler, timekeeper, simulated workers and retention on
    one node at a time."""
    retention: Retention | None = None
    """Archives old events in the background (ARCHIVE_AFTER)."""
    housekeeping: Housekeeping | None = None
    """Prunes what only grows with time (expired idempotency records, old rows)."""
    started: bool = field(default=False)
    tracer: Tracer = NO_TRACING
    """OpenTelemetry spans (infrastructure/telemetry.py), or none."""

    @property
    def reactors(self) -> list[Any]:
        return [r for r in (self.scheduler, self.timekeeper, self.workers) if r is not None]

    @property
    def leader_work(self) -> list[Any]:
        """What runs on the node that schedules: the reactors, retention and housekeeping."""
        jobs = [job for job in (self.retention, self.housekeeping) if job is not None]
        return [*self.reactors, *jobs]

    @property
    def lease_s(self) -> float:
        return self.settings.lease_s

    def subscribe_commits(self, listener: Callable[[], None]) -> Callable[[], None]:
        return self.signal.subscribe(listener)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.metrics.request(route, method, status, seconds)

    def metrics_exposition(self, requests: bool = True) -> tuple[bytes, str]:
        return render(self.metrics, self.node_health.gauges, requests)

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
            for reactor in self.leader_work:
                reactor.start()
        if self.verifier is not None:
            self.verifier.start()
        warm = functools.partial(warm_reads, self.time_travel, self.read_model)
        threading.Thread(target=warm, name="warm", daemon=True).start()
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

    def audit(self, progress: AuditProgress | None = None) -> AuditReport:
        """Recompute every decision, check the invariants and walk the hash chain."""
        return verify_in_parts.verify(self.settings.database_url, self.engines.read, progress)

    def audit_from_archive(
        self, directory: Path, progress: AuditProgress | None = None
    ) -> tuple[AuditReport, list[ArchiveDamaged]]:
        """`audit` reading the archive's segments for the positions they hold and the hot
        log after them; with the segments found damaged or missing."""
        hot = verify_in_parts.LogReader(self.engines.read)
        log = TieredLog(directory, hot)
        try:
            anchor = hot.start()
        except log_start.DamagedStart as damaged:
            return verify_in_parts.damaged_start(damaged, hot.head()), log.problems
        return verify_log(log, progress, anchor=anchor), log.problems

    def archive(
        self,
        directory: Path,
        up_to: int,
        segment_events: int = archiver.SEGMENT_EVENTS,
        progress: Callable[[str, int], None] | None = None,
        keep_hot: bool = False,
        hook: removal.Hook | None = None,
        step_events: int = removal.STEP_EVENTS,
    ) -> tuple[archiver.ArchiveRun, removal.Removal | None]:
        """Archive the events up to `up_to` into segments, then (unless `keep_hot`)
        remove the archived ones from the hot log; `progress` gets ("archiving" or
        "removing", events so far)."""
        migrate.upgrade(self.engines.write)
        run = archiver.archive(
            self.engines.read,
            directory,
            up_to,
            segment_events,
            None if progress is None else functools.partial(progress, "archiving"),
        )
        if keep_hot:
            return run, None
        removed = removal.remove(
            self.engines.write,
            segments.manifests(directory),
            up_to,
            iso(self.clock.now()),
            step_events,
            progress=None if progress is None else functools.partial(progress, "removing"),
            hook=hook,
            reader=self.engines.read,
        )
        if self.engines.write.dialect.name == "sqlite":
            reclaim(self.engines.write)
        return run, removed

    def stop(self) -> None:
        self.traffic.stop()
        if self.leadership is not None:
            self.leadership.stop()
        for reactor in reversed(self.leader_work):
            reactor.stop()
        if self.verifier is not None:
            self.verifier.stop()
        if self.watcher is not None:
            self.watcher.stop()
        self.sender.stop()
        self.store.close()
        self.engines.dispose()
        self.started = False
        log.info("taskrouterx.stopped")

    def scheduler_runtime(self) -> dict[str, Any]:
        return self.node_health.scheduler_runtime()

    def readiness(self) -> dict[str, Any]:
        return self.node_health.readiness()

    def health(self) -> dict[str, Any]:
        return self.node_health.health()


def bootstrap(
    settings: Settings | None = None,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    tracer: Tracer | None = None,
) -> TaskRouter:
    settings = settings or Settings()
    tracer = tracer or _tracer(settings)
    clock = clock or SystemClock()
    ids = ids or TimeOrderedIds(clock, settings.id_seed)
    engines = create_engines(
        settings.database_url, settings.sqlite_synchronous, settings.busy_timeout_ms
    )
    signal = CommitSignal()
    reader = verify_in_parts.LogReader(engines.read)
    runner = ProjectionRunner(
        [
            TasksProjection(),
            PoolLoadProjection(),
            StatsProjection(),
            TenantsProjection(),
            SnapshotsProjection(settings.snapshot_every),
        ],
        engines.write,
    )
    metrics = Metrics()
    store = SqlEventStore(engines.write, engines.read, clock, ids, signal, runner, metrics)
    archive = None if settings.archive_dir is None else ArchivedLog(settings.archive_dir)
    read_model = SqlReadModel(engines.read, archive)
    aggregates = Aggregates(store, snapshots=store)
    store.keep_current(aggregates)
    bus = CommandBus(aggregates, clock, ids, jitter=random.Random(settings.id_seed).random)

    def aborted() -> None:
        aggregates.clear()
        metrics.commit_failed()

    writer = SingleWriter(
        bus,
        max_backlog=settings.max_writer_backlog,
        transactions=store,
        on_abort=aborted,
        on_batch=metrics.batched,
        lock_wait_s=settings.busy_timeout_ms / 1000,
    )
    system_lane = writer.system()
    state_source = SqlStateSource(engines.read)
    scheduler = (
        Scheduler(store, system_lane, state_source, signal, metrics, tracer, read_model.trace_of)
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
        functools.partial(_regions, read_model),
        settings.sim_seed,
    )
    several_nodes = engines.write.dialect.name == "postgresql"
    time_travel = SqlTimeTravel(engines.read, archive)
    retention = (
        Retention(
            engines.read, engines.write, settings.archive_dir, settings.archive_after, clock,
            time_travel.position_at, settings.archive_check_s, on_run=_counted(metrics),
        )
        if settings.archive_after is not None and settings.archive_dir is not None
        else None
    )  # fmt: skip
    housekeeping = Housekeeping(
        engines.write, clock, timedelta(seconds=settings.idempotency_ttl_s),
        time_travel.position_at, settings.task_rows_retention, settings.archive_check_s,
    )  # fmt: skip
    reactors = [
        reactor
        for reactor in (scheduler, timekeeper, workers, retention, housekeeping)
        if reactor is not None
    ]
    leadership = (
        Leadership(settings.database_url, reactors, node=f"{socket.gethostname()}:{settings.port}")
        if several_nodes
        else None
    )
    projections = ProjectionAdmin(runner, read_model, writer, metrics)
    node_health = NodeHealth(
        settings, engines, store, read_model, writer, runner, projections,
        scheduler, timekeeper, workers, leadership, retention, housekeeping,
    )  # fmt: skip
    idempotent = IdempotentCommands(
        store, bus, writer, clock, timedelta(seconds=settings.idempotency_ttl_s), read_model
    )
    return TaskRouter(
        idempotent=idempotent,
        verifications=VerificationJobs(
            functools.partial(verify_in_parts.verify, settings.database_url, engines.read), clock
        ),
        verifier=(
            ContinuousVerification(
                store, reader, signal, clock, begin=lambda: reader.start().start()
            )
            if settings.verify_continuously
            else None
        ),
        watcher=LogWatcher(settings.database_url, signal) if several_nodes else None,
        leadership=leadership,
        retention=retention,
        housekeeping=housekeeping,
        node_health=node_health,
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
        projections=projections,
        metrics=metrics,
        time_travel=time_travel,
        replays=SqlReplayInputs(engines.read, archive),
        scheduler=scheduler,
        timekeeper=timekeeper,
        workers=workers,
        tracer=tracer,
    )


def warm_reads(time_travel: SqlTimeTravel, read_model: SqlReadModel) -> None:
    """Prepare, in the background, what the first time-travel query and the first
    explanation would otherwise wait for. An optimization only: both work cold."""
    try:
        time_travel.warm()
    except Exception as error:  # queries summarize on demand
        log.warning("time_travel.warm_failed", error=str(error))
    try:
        read_model.warm_decision_inputs()
    except Exception as error:  # explanations make the checkpoints on demand
        log.warning("decision_inputs.warm_failed", error=str(error))


def bootstrap_front(
    settings: Settings, clock: Clock | None = None, ids: IdGenerator | None = None
) -> FrontNode:
    """The HTTP process of a node served from two processes: reads here, writes in the
    writer process it starts (see infrastructure.ipc). Should the writer process die, the
    server stops as on SIGTERM, then exits with status 1."""
    clock = clock or SystemClock()
    ids = ids or TimeOrderedIds(clock, settings.id_seed)
    engines = create_engines(
        settings.database_url, settings.sqlite_synchronous, settings.busy_timeout_ms
    )
    archive = None if settings.archive_dir is None else ArchivedLog(settings.archive_dir)
    read_model = SqlReadModel(engines.read, archive)
    time_travel = SqlTimeTravel(engines.read, archive)
    signal = CommitSignal()
    commits = itertools.count(1)  # the writer process's commits, relayed to waiters here
    link = WriterLink(
        settings, lambda: signal.publish(next(commits)), lambda why: exit_this_process()
    )
    regions = functools.partial(_regions, read_model)
    return FrontNode(
        settings=settings,
        clock=clock,
        engines=engines,
        link=link,
        signal=signal,
        read_model=read_model,
        time_travel=time_travel,
        replays=SqlReplayInputs(engines.read, archive),
        verifications=VerificationJobs(
            functools.partial(verify_in_parts.verify, settings.database_url, engines.read), clock
        ),
        traffic=TrafficGenerator(RemoteSender(link), clock, ids, regions, settings.sim_seed),
        warm=functools.partial(warm_reads, time_travel, read_model),
        after_loss=exit_failed,
        verifier=VerifierLink(settings) if settings.verify_continuously else None,
        tracer=_tracer(settings),
    )


def _tracer(settings: Settings) -> Tracer:
    """The tracer OpenTelemetry's variables ask for (infrastructure/telemetry.py)."""
    return tracer_for(
        settings.otel_traces_exporter, settings.otel_sdk_disabled, settings.otel_service_name
    )


def _regions(read_model: SqlReadModel) -> list[str]:
    return sorted({pool["region"] for pool in read_model.list_pools()})


def _counted(metrics: Metrics) -> Callable[[RetentionRun], None]:
    """Count each retention batch in the metrics."""

    def count(run: RetentionRun) -> None:
        metrics.archive_run(run.archived, run.bytes, run.removed, run.error is not None)

    return count
