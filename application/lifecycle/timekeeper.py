"""The timekeeper: the one scheduler of due times. It folds the log into the due times of
unfinished tasks (a delayed task's time, a lease's end, an attempt's timeout) and, when one
comes, sends the command it calls for. Nothing sleeps per task: the reactor wakes for the
earliest due time or for new events, and after a restart it rebuilds every due time from
the read models at one log position, then follows the log.

A due time is only a prompt: the task decides (a lease renewed since, or an attempt that
already ended, rejects the command), so a stale prompt is harmless."""

import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime, timedelta

import structlog

from application.commands.leases import ExpireLease
from application.commands.task_lifecycle import MarkTaskReady, TimeOutTask
from application.commit_signal import CommitSignal
from application.errors import ConcurrencyConflict
from application.lifecycle.due_times import Due, DueTimes, Kind
from application.messages import Command, CommandResult, MessageContext, RecordedEvent
from application.ports import Clock, CommandSender, EventStore, TimekeeperStateSource
from application.reactor import Reactor
from domain.errors import DomainError, NotDueYet
from domain.events import (
    PoolSlotClaimed,
    TaskCancelled,
    TaskCompleted,
    TaskFailed,
    TaskLeased,
    TaskLeaseExpired,
    TaskLeaseExtended,
    TaskPreempted,
    TaskQueued,
    TaskReady,
    TaskReleased,
    TaskRetried,
)
from domain.task import task_stream

log = structlog.get_logger(__name__)

ACTOR = "timekeeper"
TASK_STREAM_PREFIX = task_stream("")
FINAL = frozenset({TaskCompleted.type_name(), TaskCancelled.type_name()})

WATCHED = frozenset(
    cls.type_name()
    for cls in (
        TaskQueued, TaskReady, PoolSlotClaimed, TaskLeased, TaskLeaseExtended, TaskFailed,
        TaskLeaseExpired, TaskReleased, TaskPreempted, TaskRetried, TaskCompleted, TaskCancelled,
    )
)  # fmt: skip


class Timekeeper(Reactor):
    name = "timekeeper"
    interests = WATCHED

    def __init__(
        self,
        store: EventStore,
        sender: CommandSender,
        state_source: TimekeeperStateSource,
        signal: CommitSignal,
        clock: Clock,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(store, signal)
        self._sender = sender
        self._state_source = state_source
        self._clock = clock
        self._monotonic = monotonic
        self.due = DueTimes()
        self._timeouts: dict[str, tuple[float, int]] = {}
        """Tasks with a timeout that may run again: (timeout_s, attempts started)."""
        self.fired = 0
        self.outlook: tuple[int, datetime | None] = (0, None)
        """(due times held, the earliest): published by the timekeeper's own thread after
        each round, for other threads to read (the heap is not theirs to touch)."""

    def restore(self) -> None:
        state = self._state_source.timekeeper_state()
        self.position = state.position
        self.due = DueTimes()
        self._timeouts = {}
        for task in state.tasks:
            key = task.task_id, task.correlation_id
            if task.ready_at is not None:
                self.due.set(Due(task.ready_at, Kind.READY, *key))
            if task.lease_expires_at is not None:
                self.due.set(Due(task.lease_expires_at, Kind.LEASE, *key))
            if task.timeout_s is not None:
                self._timeouts[task.task_id] = (task.timeout_s, task.attempt)
                if task.started_at is not None:
                    at = task.started_at + timedelta(seconds=task.timeout_s)
                    self.due.set(Due(at, Kind.TIMEOUT, *key, task.attempt))
        log.info("timekeeper.restored", position=state.position, due=len(self.due))

    def apply(self, recorded: RecordedEvent) -> None:
        task_id = recorded.stream_id.removeprefix(TASK_STREAM_PREFIX)
        correlation = recorded.metadata.correlation_id
        if recorded.type == PoolSlotClaimed.type_name():
            # An attempt starts: its slot is claimed in the assignment's write, and the
            # claim's payload is small where the assignment's carries a whole decision.
            claimed = recorded.event
            assert isinstance(claimed, PoolSlotClaimed)
            self._started(claimed.task_id, correlation, recorded.metadata.recorded_at)
            return
        # Other frequent events are handled from their envelope alone, never decoded.
        if recorded.type in FINAL:
            self._ended(task_id, correlation, None)
            self._timeouts.pop(task_id, None)
            return
        if recorded.type == TaskReady.type_name():
            self.due.drop(task_id, Kind.READY)
            return
        due = self.due
        match recorded.event:
            case TaskQueued(timeout_s=timeout_s, not_before=not_before, enqueued_at=at):
                if timeout_s is not None:
                    self._timeouts[task_id] = (timeout_s, 0)
                if not_before is not None and not_before > at:
                    due.set(Due(not_before, Kind.READY, task_id, correlation))
            case TaskLeased(expires_at=expires) | TaskLeaseExtended(expires_at=expires):
                due.set(Due(expires, Kind.LEASE, task_id, correlation))
            case TaskFailed(retry_at=retry_at) | TaskLeaseExpired(retry_at=retry_at):
                self._ended(task_id, correlation, retry_at)
            case (
                TaskReleased(released_at=at)
                | TaskPreempted(preempted_at=at)
                | TaskRetried(retried_at=at)
            ):
                self._ended(task_id, correlation, at)

    def _started(self, task_id: str, correlation: str, at: datetime) -> None:
        """An attempt began (at about `at`: the assignment's commit, a moment after the
        time the task measures from, so the prompt is never early)."""
        timeout = self._timeouts.get(task_id)
        if timeout is None:
            return
        timeout_s, attempts = timeout
        self._timeouts[task_id] = (timeout_s, attempts + 1)
        deadline = at + timedelta(seconds=timeout_s)
        self.due.set(Due(deadline, Kind.TIMEOUT, task_id, correlation, attempts + 1))

    def _ended(self, task_id: str, correlation: str, next_ready: datetime | None) -> None:
        """An attempt (or the task) ended: its lease and timeout go; a next attempt waits
        for `next_ready`, if any. A task's timeout is kept until it completes or is
        cancelled: an operator may retry a failed one."""
        self.due.drop(task_id)
        if next_ready is not None:
            self.due.set(Due(next_ready, Kind.READY, task_id, correlation))

    def act(self) -> float | None:
        sent: list[tuple[Due, Future[CommandResult]]] = []
        for due in list(self.due.pop_due(self._clock.now())):
            context = MessageContext(due.correlation_id, None, ACTOR)
            sent.append((due, self._sender.submit(_command(due), context)))
        failures = [error for due, future in sent if (error := self._settle(due, future))]
        upcoming = self.due.next_at()
        self.outlook = (len(self.due), upcoming)
        if failures:
            raise failures[0]  # the reactor retries them after a backoff
        if upcoming is None:
            return None
        return max((upcoming - self._clock.now()).total_seconds(), 0.0)

    def _settle(self, due: Due, future: "Future[CommandResult]") -> Exception | None:
        """Settle one command; the error if it failed for a reason other than a rule (its
        due time is then back in the heap, due at once)."""
        try:
            future.result()
        except NotDueYet as early:
            if self._clock.now() < due.at and self.due.get(due.task_id, due.kind) is None:
                self.due.set(due)  # the clock stepped back: wait for the time again
            else:  # the time moved on (a renewed lease): the fold brings the new one
                log.info("timekeeper.not_due", task_id=due.task_id, reason=str(early))
            return None
        except (DomainError, ConcurrencyConflict) as rejection:
            # The task moved on (or the due time moved): the log has the truth and the
            # fold brings any new due time.
            log.info("timekeeper.rejected", task_id=due.task_id, kind=str(due.kind),
                     reason=str(rejection))  # fmt: skip
            return None
        except Exception as error:
            if self.due.get(due.task_id, due.kind) is None:
                self.due.set(due)
            return error
        self.fired += 1
        return None


def _command(due: Due) -> Command:
    match due.kind:
        case Kind.READY:
            return MarkTaskReady(due.task_id)
        case Kind.LEASE:
            return ExpireLease(due.task_id)
        case Kind.TIMEOUT:
            return TimeOutTask(due.task_id, due.attempt)
