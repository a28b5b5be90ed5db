"""What the interfaces (HTTP, CLI) may use of a running TaskRouterX: commands go through
`sender`, queries through `read_model`, and the operational views below."""

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol

from application.audit.continuous import VerificationJobs, Verified
from application.audit.verify import AuditReport
from application.audit.verify import Progress as AuditProgress
from application.idempotency import Outcome, Render
from application.messages import Command, MessageContext
from application.ports import Clock, CommandSender, ReadModel, ReplaySource, TimeTravel
from application.simulation.traffic import TrafficPlan, TrafficRun
from application.tracing import Tracer


class ProjectionAdmin(Protocol):
    def names(self) -> list[str]: ...

    def rebuilding(self) -> list[str]: ...

    def status(self) -> list[dict[str, Any]]: ...

    def start_rebuild(self, name: str) -> dict[str, Any]:
        """Start rebuilding in the background; raises UnknownProjection or RebuildRunning."""
        ...


class IdempotentCommands(Protocol):
    def submit_once(
        self,
        key: str,
        fingerprint: str,
        command: Command,
        context: MessageContext,
        render: Render,
    ) -> "Future[Outcome]":
        """Run the command unless the key already answered this request; the key, the
        rendered response and the command's events commit together."""
        ...


class Traffic(Protocol):
    """Simulated traffic runs (POST /simulate)."""

    def start(self, plan: TrafficPlan, context: MessageContext) -> TrafficRun: ...

    def get(self, run_id: str) -> TrafficRun | None: ...


class LatestVerification(Protocol):
    """The verification that follows the log."""

    def wait_for_first(self, timeout_s: float) -> Verified | None:
        """The latest round's result, waiting up to `timeout_s` for the first one."""
        ...


class CommitSource(Protocol):
    def subscribe_commits(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` after every commit (see CommitSignal.subscribe); returns the
        function that unsubscribes it."""
        ...


class NodeStatus(Protocol):
    """How this node is doing (GET /health, /ready, the scheduler's runtime figures)."""

    def health(self) -> dict[str, Any]: ...

    def readiness(self) -> dict[str, Any]:
        """{"ready": bool, "checks": {name: {"ok": bool, ...}}}"""
        ...

    def scheduler_runtime(self) -> dict[str, Any]: ...


class Auditor(Protocol):
    def audit(self, progress: AuditProgress | None = None) -> AuditReport:
        """Recompute every decision, check the invariants and walk the hash chain."""
        ...


class MetricsExposition(Protocol):
    def metrics_exposition(self) -> tuple[bytes, str]:
        """The Prometheus exposition text and its content type."""
        ...


class TaskRouterService(Protocol):
    @property
    def sender(self) -> CommandSender: ...

    @property
    def read_model(self) -> ReadModel: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def time_travel(self) -> TimeTravel: ...

    @property
    def replays(self) -> ReplaySource: ...

    @property
    def traffic(self) -> Traffic: ...

    @property
    def projections(self) -> ProjectionAdmin: ...

    @property
    def lease_s(self) -> float:
        """How long a lease lasts without a heartbeat."""
        ...

    @property
    def tracer(self) -> Tracer:
        """Spans (OpenTelemetry), or NO_TRACING."""
        ...

    def subscribe_commits(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` after every commit (see CommitSignal.subscribe)."""
        ...

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count an HTTP request answered (metrics)."""
        ...

    def metrics_exposition(self) -> tuple[bytes, str]:
        """The Prometheus exposition text and its content type."""
        ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def health(self) -> dict[str, Any]: ...

    def readiness(self) -> dict[str, Any]:
        """{"ready": bool, "checks": {name: {"ok": bool, ...}}}"""
        ...

    @property
    def idempotent(self) -> IdempotentCommands: ...

    def audit(self, progress: AuditProgress | None = None) -> AuditReport: ...

    @property
    def verifier(self) -> LatestVerification | None: ...

    @property
    def verifications(self) -> VerificationJobs: ...

    def scheduler_runtime(self) -> dict[str, Any]: ...
