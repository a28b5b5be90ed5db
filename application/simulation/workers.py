"""Simulated workers, as in the original: a task assigned to a simulated pool runs for a
latency drawn uniformly from [min, max] seconds, then completes, or fails with a set
probability (and is retried like any failed attempt). Pools run by external workers are
left to them.

The simulator follows pool slots rather than assignments (a slot is claimed in the same
write as its assignment and released when the attempt ends): their events are small, and a
released slot cancels the attempt's timer, so a timed-out or cancelled attempt never
reports and a retried task's new attempt gets a timer of its own. Each report names its
attempt (the claim's), so even one sent just as its attempt ended elsewhere cannot finish
the task's next attempt."""

import heapq
import itertools
import random
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

import structlog

from application.commands.finish_task import CompleteTask, FailTask
from application.commit_signal import CommitSignal
from application.errors import ConcurrencyConflict
from application.messages import CommandResult, MessageContext, RecordedEvent
from application.ports import CommandSender, EventStore, WorkerStateSource
from application.reactor import Reactor
from domain.errors import DomainError
from domain.events import (
    PoolExecutionChanged,
    PoolSlotClaimed,
    PoolSlotReleased,
    WorkerPoolRegistered,
)
from domain.values import Execution

log = structlog.get_logger(__name__)

ACTOR = "simulated-worker"
SIMULATED_FAILURE = "simulated worker failure"


@dataclass(frozen=True)
class SimulationSettings:
    min_latency_s: float = 0.1
    max_latency_s: float = 2.0
    failure_rate: float = 0.05
    seed: int | None = None


@dataclass(frozen=True, order=True)
class _Timer:
    due: float
    sequence: int
    task_id: str
    attempt: int
    fails: bool
    context: MessageContext


class SimulatedWorkers(Reactor):
    name = "simulated-workers"
    interests = frozenset(
        cls.type_name()
        for cls in (PoolSlotClaimed, PoolSlotReleased, WorkerPoolRegistered, PoolExecutionChanged)
    )

    def __init__(
        self,
        store: EventStore,
        sender: CommandSender,
        state_source: WorkerStateSource,
        signal: CommitSignal,
        settings: SimulationSettings,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(store, signal)
        self._sender = sender
        self._state_source = state_source
        self._settings = settings
        self._monotonic = monotonic
        self._rng = random.Random(settings.seed)
        self._timers: list[_Timer] = []
        self._current: dict[str, int] = {}
        """Each running task's timer (its sequence number); older timers are void."""
        self._external: set[str] = set()
        self._sequence = itertools.count()
        self.completed = 0
        self.failed = 0

    @property
    def in_flight(self) -> int:
        return len(self._current)

    def restore(self) -> None:
        running = self._state_source.running_tasks()
        self.position = running.position
        self._timers = []
        self._current = {}
        self._external = set(running.external_pools)
        for task in running.tasks:
            self._start(
                task.task_id, task.attempt, MessageContext(task.correlation_id, None, ACTOR)
            )

    def apply(self, recorded: RecordedEvent) -> None:
        match recorded.event:
            case PoolSlotClaimed(pool_id=pool_id, task_id=task_id, attempt=attempt):
                if pool_id not in self._external:
                    self._start(task_id, attempt, recorded.caused(ACTOR))
            case PoolSlotReleased(task_id=task_id):
                self._current.pop(task_id, None)
            case WorkerPoolRegistered(pool_id=pool_id, execution=Execution.EXTERNAL):
                self._external.add(pool_id)
            case PoolExecutionChanged(pool_id=pool_id, execution=execution):
                if execution is Execution.EXTERNAL:
                    self._external.add(pool_id)
                else:
                    self._external.discard(pool_id)

    def act(self) -> float | None:
        now = self._monotonic()
        pending: list[tuple[_Timer, Future[CommandResult]]] = []
        while (timer := self._next()) is not None and timer.due <= now:
            heapq.heappop(self._timers)
            command = (
                FailTask(timer.task_id, SIMULATED_FAILURE, attempt=timer.attempt)
                if timer.fails
                else CompleteTask(timer.task_id, attempt=timer.attempt)
            )
            pending.append((timer, self._sender.submit(command, timer.context)))
        failures = [error for timer, future in pending if (error := self._settle(timer, future))]
        if failures:
            raise failures[0]  # the reactor retries them after a backoff
        upcoming = self._next()
        return None if upcoming is None else max(upcoming.due - self._monotonic(), 0.0)

    def _next(self) -> _Timer | None:
        """The earliest live timer, dropping void ones (their attempt ended otherwise)."""
        timers = self._timers
        while timers and self._current.get(timers[0].task_id) != timers[0].sequence:
            heapq.heappop(timers)
        return timers[0] if timers else None

    def _start(self, task_id: str, attempt: int, context: MessageContext) -> None:
        settings = self._settings
        latency = self._rng.uniform(settings.min_latency_s, settings.max_latency_s)
        fails = self._rng.random() < settings.failure_rate
        timer = _Timer(
            self._monotonic() + latency, next(self._sequence), task_id, attempt, fails, context
        )
        self._current[task_id] = timer.sequence
        heapq.heappush(self._timers, timer)

    def _settle(self, timer: _Timer, future: "Future[CommandResult]") -> Exception | None:
        """Settle one report; the error if it failed for a reason other than a rule (its
        timer is then back in the heap, due at once)."""
        try:
            future.result()
        except (DomainError, ConcurrencyConflict) as rejection:
            log.info("simulator.rejected", task_id=timer.task_id, reason=str(rejection))
            self._forget(timer)
            return None
        except Exception as error:
            heapq.heappush(self._timers, timer)
            return error
        self._forget(timer)
        if timer.fails:
            self.failed += 1
        else:
            self.completed += 1
        return None

    def _forget(self, timer: _Timer) -> None:
        if self._current.get(timer.task_id) == timer.sequence:
            del self._current[timer.task_id]
