"""Verification that keeps up with the log: a reactor that checks each new event as it is
committed (its hash recomputed, its decision recomputed, the invariants folded), so the
latest result is at most a moment behind the head and reading it costs nothing. It starts
from the log's start (position 0, or the hot log's start once older events are archived)
when the service starts, and again when events it had not verified are archived.

A full re-verification from position 0, on request, is a `VerificationJobs` job."""

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from application.audit.verify import AuditReport, CheckedLog, Progress, Start, Verification
from application.commit_signal import CommitSignal
from application.errors import HistoryArchived
from application.messages import RecordedEvent
from application.ports import Clock, EventStore
from application.reactor import Reactor


@dataclass(frozen=True)
class Verified:
    """The latest result: the report covers positions 1..`verified_to`."""

    report: AuditReport
    verified_to: int
    at: datetime


class ContinuousVerification(Reactor):
    name = "verifier"

    ROUND_S = 0.5
    """Rounds start at most this often: a round verifies everything committed since the
    last, so under load it reads fewer, larger pages."""

    def __init__(
        self,
        store: EventStore,
        log: CheckedLog,
        signal: CommitSignal,
        clock: Clock,
        page_size: int = 5000,
        begin: Callable[[], Start | None] = lambda: None,
    ) -> None:
        """`begin`: where the log starts (None: at position 0)."""
        super().__init__(store, signal, page_size)
        self._log = log
        self._clock = clock
        self._begin = begin
        self._verification = Verification()
        self._latest: Verified | None = None
        self._published = threading.Event()

    @property
    def latest(self) -> Verified | None:
        """None until the first page of the log has been verified."""
        return self._latest

    def wait_for_first(self, timeout_s: float) -> Verified | None:
        """The latest result, waiting up to `timeout_s` for the first."""
        self._published.wait(timeout_s)
        return self._latest

    def restore(self) -> None:
        start = self._begin()
        self.position = 0 if start is None else start.position
        self._verification = Verification(start)

    def apply(self, recorded: RecordedEvent) -> None:
        """Unused: `catch_up` reads the log's rows with their chain hashes, which a
        RecordedEvent does not carry."""
        raise NotImplementedError("the verifier reads its own pages (catch_up)")

    def catch_up(self) -> bool:
        """Verify every page after `position`, publishing the result after each (the first
        pass over a long log shows its progress)."""
        start = self.position
        while True:
            try:
                page, self.position = self._verification.next_page(self._log, self.position)
            except HistoryArchived:  # archived before it was verified: on from the start
                self.restore()
                continue
            if not page and self._latest is not None:
                return self.position > start
            self._publish()
            if not page:
                return self.position > start

    def act(self) -> float | None:
        self._stop.wait(self.ROUND_S)
        return None

    def _publish(self) -> None:
        report = self._verification.finished(self.position)
        self._latest = Verified(report, self.position, self._clock.now())
        self._published.set()


@dataclass
class VerificationJob:
    id: str
    started_at: datetime
    phase: str = "starting"
    done: int = 0
    total: int = 0
    finished_at: datetime | None = None
    report: AuditReport | None = None
    error: str | None = None

    @property
    def status(self) -> str:
        if self.error is not None:
            return "failed"
        return "running" if self.report is None else "done"


class VerificationRunning(Exception):
    def __init__(self, job: VerificationJob) -> None:
        super().__init__(f"a full verification is already running: job {job.id}")
        self.job = job


class VerificationJobs:
    """Full verifications from position 0, one at a time, each in its own thread; the last
    KEPT are kept to be read."""

    KEPT = 10

    def __init__(self, verify: Callable[[Progress], AuditReport], clock: Clock) -> None:
        self._verify = verify
        self._clock = clock
        self._jobs: OrderedDict[str, VerificationJob] = OrderedDict()
        self._lock = threading.Lock()

    def start(self) -> VerificationJob:
        """Start one; VerificationRunning if one is running already."""
        with self._lock:
            for job in self._jobs.values():
                if job.status == "running":
                    raise VerificationRunning(job)
            job = VerificationJob(uuid.uuid4().hex, self._clock.now())
            self._jobs[job.id] = job
            while len(self._jobs) > self.KEPT:
                self._jobs.popitem(last=False)
        threading.Thread(target=self._run, args=(job,), name="verification", daemon=True).start()
        return job

    def get(self, job_id: str) -> VerificationJob | None:
        return self._jobs.get(job_id)

    def _run(self, job: VerificationJob) -> None:
        def progress(phase: str, done: int, total: int) -> None:
            job.phase, job.done, job.total = phase, done, total

        try:
            report = self._verify(progress)
        except Exception as error:  # reported on the job, which a client polls
            job.error = f"{type(error).__name__}: {error}"
            job.finished_at = self._clock.now()
        else:
            job.phase, job.done = "finished", report.events_checked
            job.finished_at = self._clock.now()
            job.report = report
