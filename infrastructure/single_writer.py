"""The single writer: one thread runs every command, so writes never queue on the
database lock and each command sees the effects of the ones before it.

Group commit: the commands waiting when the writer comes round run together in one
transaction, each in its own savepoint, and share one commit (one fsync). Every future
resolves only after that commit, so nothing is acknowledged before it is durable. Jobs
that are not commands (a projection rebuild batch) run alone, between transactions.

Two lanes, in the order `application.lanes` (the policy of which commands go first) gives
them: the system lane before the client lane. The client lane is bounded: past
`max_backlog` a command is refused at once with ServiceOverloaded instead of waiting
without limit.
"""

import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import structlog

from application.bus import CommandBus
from application.errors import ServiceOverloaded, ServiceStopping
from application.lanes import Lane, lane_of
from application.messages import Command, CommandResult, MessageContext

T = TypeVar("T")

log = structlog.get_logger(__name__)

MAX_BATCH = 512
"""Commands committed together at most: bounds how long the first one waits."""
MIN_LOCK_WAIT_S = 0.001
"""The least a batch waits for the write lock, even when its oldest command's time is up."""


class _RollBack(Exception):
    """A lone command failed: roll its transaction back (no savepoint was needed)."""


class ConflictAtCommit(Exception):
    """A transaction whose appends went in as it ended (`at_commit`) found a stream
    moved past the version a command expected: it rolled back, nothing was written."""


class Transactions(Protocol):
    """What group commit needs from the store (SqlEventStore provides it)."""

    def transaction(
        self, wait_s: float | None = None, at_commit: bool = False
    ) -> AbstractContextManager[None]:
        """One write transaction, waiting at most `wait_s` for the database's lock.
        `at_commit`: appends are checked and inserted together as it ends, and a conflict
        raises ConflictAtCommit then (run the commands again without `at_commit`)."""
        ...

    def savepoint(self) -> AbstractContextManager[None]: ...


class NoTransactions:
    """For stores without group commit: every command commits on its own."""

    def transaction(
        self, wait_s: float | None = None, at_commit: bool = False
    ) -> AbstractContextManager[None]:
        return nullcontext()

    def savepoint(self) -> AbstractContextManager[None]:
        return nullcontext()


@dataclass(frozen=True)
class _Job:
    action: Callable[[], Any]
    future: "Future[Any]"
    batchable: bool
    lane: int
    queued_at: float


class SingleWriter:
    def __init__(
        self,
        bus: CommandBus,
        max_backlog: int = 10_000,
        transactions: Transactions | None = None,
        on_abort: Callable[[], None] = lambda: None,
        on_batch: Callable[[int], None] = lambda commands: None,
        lock_wait_s: float | None = None,
    ) -> None:
        """`lock_wait_s`: how long a command may wait for the database's write lock, counted
        from when it was queued: a batch waits for the lock only as long as its oldest
        command has left, so a command queued behind a batch that waited in vain fails
        (StoreUnavailable) by its own deadline, not one busy timeout later. (A database
        that is not locked grants the lock at once, however long the queue was.)"""
        self._bus = bus
        self._lock_wait_s = lock_wait_s
        self._max_backlog = max_backlog
        self._transactions = transactions or NoTransactions()
        self._on_abort = on_abort
        self._on_batch = on_batch
        self.batches = 0
        self.batched_commands = 0
        self._lanes: tuple[deque[_Job], deque[_Job]] = (deque(), deque())
        self._wake: queue.SimpleQueue[None] = queue.SimpleQueue()
        self._stopping = False
        self._client_backlog = 0
        self._thread: threading.Thread | None = None
        self._accepting = False
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            self._accepting = True
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="single-writer", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting work, finish what is queued, then stop the thread."""
        with self._lock:
            self._accepting = False
            thread, self._thread = self._thread, None
        if thread is not None:
            self._stopping = True
            self._wake.put(None)
            thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def backlog(self) -> int:
        return sum(len(lane) for lane in self._lanes)

    def submit(
        self, command: Command, context: MessageContext, lane: Lane | None = None
    ) -> "Future[CommandResult]":
        """Run a command; by default in the lane its kind calls for (`lane_of`)."""
        chosen = lane_of(command) if lane is None else lane
        return self._enqueue(lambda: self._bus.handle(command, context), chosen, batchable=True)

    def run(
        self, job: Callable[[], T], lane: Lane = Lane.SYSTEM, batchable: bool = False
    ) -> "Future[T]":
        """Run a write job on the writer thread, in turn with the commands: alone, or, if
        `batchable` (it only appends through the store), inside the group transaction."""
        return self._enqueue(job, lane, batchable)

    def _enqueue(self, job: Callable[[], T], lane: Lane, batchable: bool) -> "Future[T]":
        future: Future[T] = Future()
        with self._lock:
            if not self._accepting:
                future.set_exception(ServiceStopping("the service is shutting down"))
                return future
            if lane is Lane.CLIENT:
                if self._client_backlog >= self._max_backlog:
                    future.set_exception(
                        ServiceOverloaded(f"{self._client_backlog} commands are waiting; retry")
                    )
                    return future
                self._client_backlog += 1
            self._lanes[lane].append(_Job(job, future, batchable, lane, time.monotonic()))
        self._wake.put(None)
        return future

    def system(self) -> "SystemLane":
        """A CommandSender whose commands go in the system lane (scheduler, workers)."""
        return SystemLane(self)

    def _run(self) -> None:
        while True:
            self._wake.get()
            held: _Job | None = None
            while (job := held or self._next()) is not None:
                held = None
                if not job.batchable:
                    self._run_alone(job)
                    continue
                batch = [job]
                while len(batch) < MAX_BATCH and (following := self._next()) is not None:
                    if not following.batchable:
                        held = following
                        break
                    batch.append(following)
                self._run_batch(batch)
            if self._stopping:
                return

    def _next(self) -> _Job | None:
        """The oldest job of the most urgent lane that has one."""
        for lane in self._lanes:
            if lane:
                return lane.popleft()
        return None

    def _run_alone(self, job: _Job) -> None:
        self._started(job)
        action, future = job.action, job.future
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(action())
        except Exception as error:
            future.set_exception(error)

    def _run_batch(self, batch: list[_Job]) -> None:
        runnable: list[tuple[Callable[[], Any], Future[Any]]] = []
        for job in batch:
            self._started(job)
            if job.future.set_running_or_notify_cancel():
                runnable.append((job.action, job.future))
        oldest = min(batch, key=_queued_at)
        try:
            outcomes = self._committed(runnable, self._lock_wait_left(oldest), at_commit=True)
        except ConflictAtCommit:
            # Found only as the rows went in, so the whole batch rolled back: run it again
            # with every append checked as it is made (each command keeps its own outcome).
            log.warning("writer.conflict_at_commit", commands=len(runnable))
            outcomes = self._committed(runnable, self._lock_wait_left(oldest), at_commit=False)
        self.batches += 1
        self.batched_commands += len(runnable)
        self._on_batch(len(runnable))
        for future, failure, value in outcomes:
            if failure is None:
                future.set_result(value)
            else:
                future.set_exception(failure)

    def _committed(
        self,
        runnable: list[tuple[Callable[[], Any], "Future[Any]"]],
        wait_s: float | None,
        at_commit: bool,
    ) -> list[tuple["Future[Any]", BaseException | None, Any]]:
        """Run the actions in one transaction and commit it: each one's outcome."""
        outcomes: list[tuple[Future[Any], BaseException | None, Any]] = []
        isolate = self._transactions.savepoint if len(runnable) > 1 else nullcontext
        try:
            with self._transactions.transaction(wait_s, at_commit):
                for action, future in runnable:
                    try:
                        with isolate():
                            outcomes.append((future, None, action()))
                    except Exception as error:
                        outcomes.append((future, error, None))
                        if len(runnable) == 1:
                            raise _RollBack from error
        except _RollBack:
            pass
        except ConflictAtCommit:
            raise
        except Exception as error:
            log.error("writer.commit_failed", commands=len(runnable), error=str(error))
            self._on_abort()
            outcomes = [(future, error, None) for _, future in runnable]
        return outcomes

    def _lock_wait_left(self, oldest: _Job) -> float | None:
        if self._lock_wait_s is None:
            return None
        return max(self._lock_wait_s - (time.monotonic() - oldest.queued_at), MIN_LOCK_WAIT_S)

    def _started(self, job: _Job) -> None:
        if job.lane == Lane.CLIENT:
            with self._lock:
                self._client_backlog -= 1


class SystemLane:
    def __init__(self, writer: SingleWriter) -> None:
        self._writer = writer

    def submit(self, command: Command, context: MessageContext) -> "Future[CommandResult]":
        return self._writer.submit(command, context, Lane.SYSTEM)


def _queued_at(job: _Job) -> float:
    return job.queued_at
