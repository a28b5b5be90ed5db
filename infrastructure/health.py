"""How a node is doing, for `/api/v1/health`, `/api/v1/ready` and `taskrouterx status`:
the database, the writer, the projections' lag, and each reactor (running, failing,
standing by while another PostgreSQL node leads)."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from application.lifecycle.timekeeper import Timekeeper
from application.reactor import Reactor
from application.scheduling.scheduler import Scheduler
from application.simulation.workers import SimulatedWorkers
from infrastructure.archive.retention import Retention
from infrastructure.housekeeping import Housekeeping
from infrastructure.projection_admin import ProjectionAdmin
from infrastructure.replication.postgres_nodes import Leadership
from infrastructure.settings import Settings
from infrastructure.single_writer import SingleWriter
from infrastructure.sql import migrate
from infrastructure.sql.engine import Engines
from infrastructure.sql.event_store import SqlEventStore
from infrastructure.sql.projections.runner import ProjectionRunner
from infrastructure.sql.queries import SqlReadModel

log = structlog.get_logger(__name__)


@dataclass
class NodeHealth:
    settings: Settings
    engines: Engines
    store: SqlEventStore
    read_model: SqlReadModel
    sender: SingleWriter
    runner: ProjectionRunner
    projections: ProjectionAdmin
    scheduler: Scheduler | None = None
    timekeeper: Timekeeper | None = None
    workers: SimulatedWorkers | None = None
    leadership: Leadership | None = None
    retention: Retention | None = None
    housekeeping: Housekeeping | None = None
    _head: str | None = field(default=None, repr=False)

    @property
    def reactors(self) -> list[Reactor]:
        return [r for r in (self.scheduler, self.timekeeper, self.workers) if r is not None]

    def gauges(self) -> dict[str, Any]:
        """The figures the metrics exposition reads at each scrape."""
        counts = self.read_model.status_counts()
        positions, head = self.read_model.projection_positions()
        return {
            "tasks": counts,
            "queue": counts.get("queued", 0),
            "pools": self.read_model.list_pools(),
            "tenants": self.read_model.list_tenants(),
            "lags": {name: head - positions.get(name, 0) for name in self.runner.names},
            "due": 0 if self.timekeeper is None else self.timekeeper.outlook[0],
            "reactors": {
                reactor.name: (
                    reactor.failures_total,
                    0 if reactor.failing is None else reactor.failing.failures,
                )
                for reactor in self.reactors
            },
            "archive": self.read_model.archive_state(),
        }

    def log_state(self) -> dict[str, Any]:
        """The hot log's start, the archive segments that hold the removed events, and
        retention (its setting and last batch on this node)."""
        state: dict[str, Any] = self.read_model.archive_state()
        state["first_position"] = state["start"] + 1
        keeping = self.housekeeping
        if keeping is not None:
            rows_after = keeping.task_rows_after
            state["housekeeping"] = {
                "task_rows_retention_s": None if rows_after is None else rows_after.total_seconds(),
                "pruned": dict(keeping.pruned),
            }
        retention = self.retention
        if retention is None:
            state["retention"] = {"status": "off"}
            return state
        last = retention.last
        state["retention"] = {
            "status": "standby" if self._following else ("running" if retention.running
                                                         else "stopped"),
            "archive_after_s": retention.after.total_seconds(),
            "directory": str(retention.directory),
            "last_run": None if last is None else {
                "at": last.at.isoformat(), "archived": last.archived, "removed": last.removed,
                "bytes": last.bytes, "start": last.start, "seconds": round(last.seconds, 3),
                "error": last.error,
            },
        }  # fmt: skip
        return state

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
            "log": self._log_section(),
        }

    def _log_section(self) -> dict[str, Any] | None:
        try:
            return self.log_state()
        except Exception as error:  # the database unreachable: health says so above
            log.warning("health.log_state_failed", error=str(error))
            return None


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
