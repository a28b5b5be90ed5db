"""The node as the HTTP process of a two-process node sees it (a TaskRouterService):
queries read the database here, on this process's own connections; commands, idempotent
commands and the operational calls go to the writer process; commits there wake the
waiters here. The verifier that follows the log runs in a third process, at a lower
priority."""

import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from application.audit.continuous import VerificationJobs
from application.audit.verify import AuditReport
from application.audit.verify import Progress as AuditProgress
from application.commit_signal import CommitSignal
from application.idempotency import Outcome, Render
from application.messages import Command, CommandResult, MessageContext
from application.ports import Clock
from application.simulation.traffic import TrafficGenerator
from application.tracing import NO_TRACING, Tracer
from infrastructure.ipc.protocol import ONCE, SUBMIT
from infrastructure.ipc.verifier_link import VerifierLink
from infrastructure.ipc.writer_link import WriterLink
from infrastructure.metrics import Metrics, render
from infrastructure.settings import Settings
from infrastructure.sql import verify_in_parts
from infrastructure.sql.engine import Engines
from infrastructure.sql.queries import SqlReadModel
from infrastructure.sql.replay_inputs import SqlReplayInputs
from infrastructure.sql.time_travel import SqlTimeTravel


class RemoteSender:
    """Commands, run by the writer process's single writer."""

    def __init__(self, link: WriterLink) -> None:
        self._link = link

    def submit(self, command: Command, context: MessageContext) -> "Future[CommandResult]":
        return self._link.send(SUBMIT, command, context)


class RemoteIdempotent:
    def __init__(self, link: WriterLink) -> None:
        self._link = link

    def submit_once(
        self, key: str, fingerprint: str, command: Command, context: MessageContext, render: Render
    ) -> "Future[Outcome]":
        return self._link.send(ONCE, key, fingerprint, command, context, render)


class RemoteProjections:
    def __init__(self, link: WriterLink) -> None:
        self._call = functools.partial(link.call, "projections")

    def names(self) -> list[str]:
        names: list[str] = self._call("names")
        return names

    def rebuilding(self) -> list[str]:
        names: list[str] = self._call("rebuilding")
        return names

    def status(self) -> list[dict[str, Any]]:
        status: list[dict[str, Any]] = self._call("status")
        return status

    def start_rebuild(self, name: str) -> dict[str, Any]:
        started: dict[str, Any] = self._call("start_rebuild", name)
        return started


@dataclass
class FrontNode:
    settings: Settings
    clock: Clock
    engines: Engines
    link: WriterLink
    signal: CommitSignal
    read_model: SqlReadModel
    time_travel: SqlTimeTravel
    replays: SqlReplayInputs
    verifications: VerificationJobs
    traffic: TrafficGenerator
    warm: Callable[[], None]
    after_loss: Callable[[str], None]
    """Called at the end of `stop` if the writer process had gone away unasked."""
    verifier: VerifierLink | None
    """The verifier that follows the log, in a process of its own."""
    metrics: Metrics = field(default_factory=Metrics)
    """This process's: the HTTP requests."""
    tracer: Tracer = NO_TRACING
    """This process's spans: the HTTP requests and the leases."""

    @functools.cached_property
    def sender(self) -> RemoteSender:
        return RemoteSender(self.link)

    @functools.cached_property
    def idempotent(self) -> RemoteIdempotent:
        return RemoteIdempotent(self.link)

    @functools.cached_property
    def projections(self) -> RemoteProjections:
        return RemoteProjections(self.link)

    @property
    def lease_s(self) -> float:
        return self.settings.lease_s

    def subscribe_commits(self, listener: Callable[[], None]) -> Callable[[], None]:
        return self.signal.subscribe(listener)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.metrics.request(route, method, status, seconds)

    def metrics_exposition(self) -> tuple[bytes, str]:
        writer: tuple[bytes, str] = self.link.call("node", "metrics_exposition", False)
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            return writer  # it adds up every process's files, this one's too
        requests, content_type = render(self.metrics, None, requests_only=True)
        return requests + writer[0], content_type

    def start(self) -> None:
        self.link.start()
        if self.verifier is not None:
            self.verifier.start()
        threading.Thread(target=self.warm, name="warm", daemon=True).start()

    def stop(self) -> None:
        self.traffic.stop()
        if self.verifier is not None:
            self.verifier.stop()
        lost = self.link.lost
        self.link.stop()
        self.engines.dispose()
        if lost is not None:
            self.after_loss(lost)

    def health(self) -> dict[str, Any]:
        health: dict[str, Any] = self.link.call("node", "health")
        return health

    def readiness(self) -> dict[str, Any]:
        readiness: dict[str, Any] = self.link.call("node", "readiness")
        return readiness

    def scheduler_runtime(self) -> dict[str, Any]:
        runtime: dict[str, Any] = self.link.call("node", "scheduler_runtime")
        return runtime

    def audit(self, progress: AuditProgress | None = None) -> AuditReport:
        return verify_in_parts.verify(self.settings.database_url, self.engines.read, progress)
