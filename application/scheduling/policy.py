"""The scheduling policy: reacts to TaskQueued and to freed capacity by placing waiting
tasks, and records one TaskDeferred per wait when no pool can take a task."""

from dataclasses import dataclass, field
from enum import Enum

import structlog

from application.commands.assign_worker import AssignWorker
from application.commands.defer_task import DeferTask
from application.commit_signal import CommitSignal
from application.errors import ConcurrencyConflict
from application.messages import Command, MessageContext, RecordedEvent
from application.ports import CommandSender, EventStore, SchedulerStateSource
from application.reactor import Reactor
from application.scheduling.pool_board import PoolBoard
from application.scheduling.waiting_queue import WaitingQueue
from application.snapshots import WaitingTask
from domain.errors import DomainError
from domain.events import (
    AlgorithmSwitched,
    PoolCapacityChanged,
    PoolSlotClaimed,
    PoolSlotReleased,
    TaskCancelled,
    TaskDeferred,
    TaskQueued,
    WorkerAssigned,
    WorkerPoolRegistered,
)
from domain.scheduling import Decision, PoolSnapshot, TaskSnapshot, decide
from domain.values import Algorithm

log = structlog.get_logger(__name__)

ACTOR = "scheduler"


@dataclass
class SchedulerCounters:
    assigned: int = 0
    deferred: int = 0
    rejected: int = 0
    by_algorithm: dict[str, int] = field(default_factory=dict)


class SchedulingPolicy(Reactor):
    name = "scheduler"

    def __init__(
        self,
        store: EventStore,
        sender: CommandSender,
        state_source: SchedulerStateSource,
        signal: CommitSignal,
    ) -> None:
        super().__init__(store, signal)
        self._sender = sender
        self._state_source = state_source
        self.algorithm = Algorithm.FIFO
        self._queue = WaitingQueue()
        self._board = PoolBoard()
        self._last_event_id: str | None = None
        self.counters = SchedulerCounters()

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def restore(self) -> None:
        state = self._state_source.scheduler_state()
        self.position = state.position
        self.algorithm = state.algorithm
        self._queue = WaitingQueue(state.algorithm)
        self._board = PoolBoard()
        for pool in state.pools:
            self._board.put(pool)
        for task in state.waiting:
            self._queue.add(task)
        log.info(
            "scheduler.restored",
            position=state.position,
            algorithm=str(state.algorithm),
            pools=len(state.pools),
            waiting=len(state.waiting),
        )

    def apply(self, recorded: RecordedEvent) -> None:
        self._last_event_id = recorded.metadata.event_id
        match recorded.event:
            case TaskQueued() as queued:
                self._queue.add(
                    WaitingTask(
                        queued.task_id,
                        queued.priority,
                        queued.region,
                        queued.resource_type,
                        recorded.position,
                        recorded.metadata.correlation_id,
                        deferred=False,
                    )
                )
            case WorkerAssigned(task_id=task_id) | TaskCancelled(task_id=task_id):
                self._queue.remove(task_id)
            case TaskDeferred(task_id=task_id):
                self._queue.mark_deferred(task_id)
            case WorkerPoolRegistered() as registered:
                self._board.put(
                    PoolSnapshot(
                        registered.pool_id,
                        registered.name,
                        registered.region,
                        registered.resource_type,
                        registered.cost_per_unit,
                        registered.capacity,
                        load=0,
                        registration=recorded.position,
                    )
                )
            case PoolCapacityChanged(pool_id=pool_id, capacity=capacity):
                self._board.set_capacity(pool_id, capacity)
            case PoolSlotClaimed(pool_id=pool_id):
                self._board.add_load(pool_id, 1)
            case PoolSlotReleased(pool_id=pool_id):
                self._board.add_load(pool_id, -1)
            case AlgorithmSwitched(algorithm=algorithm):
                self.algorithm = algorithm
                self._queue.reorder(algorithm)

    def act(self) -> None:
        while self._place_all() | self._defer_unplaceable():
            pass

    def _place_all(self) -> bool:
        """Place waiting tasks while some pool has room; True if anything changed."""
        progressed = False
        while (task := self._queue.next_placeable(self._board.has_room)) is not None:
            decision = self._decide(task)
            if decision.chosen_pool_id is None:
                return progressed
            outcome = self._send(
                AssignWorker(task.task_id, decision.chosen_pool_id, decision), task
            )
            if outcome is Outcome.STUCK:
                return progressed
            if outcome is Outcome.DONE:
                self.counters.assigned += 1
                by_algorithm = self.counters.by_algorithm
                by_algorithm[self.algorithm] = by_algorithm.get(self.algorithm, 0) + 1
            progressed = True
        return progressed

    def _defer_unplaceable(self) -> bool:
        """Record one TaskDeferred for each newly waiting task no pool can take."""
        progressed = False
        for task in self._queue.undeferred():
            decision = self._decide(task)
            if decision.chosen_pool_id is not None:
                continue
            outcome = self._send(DeferTask(task.task_id, decision), task)
            if outcome is Outcome.STUCK:
                return progressed
            if outcome is Outcome.DONE:
                self.counters.deferred += 1
            progressed = True
        return progressed

    def _decide(self, task: WaitingTask) -> Decision:
        snapshot = TaskSnapshot(task.task_id, task.priority, task.region, task.resource_type)
        return decide(self.algorithm, snapshot, self._board.snapshots())

    def _send(self, command: Command, task: WaitingTask) -> "Outcome":
        context = MessageContext(task.correlation_id, self._last_event_id, ACTOR)
        try:
            result = self._sender.submit(command, context).result()
        except (DomainError, ConcurrencyConflict) as rejection:
            self.counters.rejected += 1
            log.info(
                "scheduler.rejected",
                command=type(command).__name__,
                task_id=task.task_id,
                reason=str(rejection),
            )
            return Outcome.RESYNCED if self.catch_up() else Outcome.STUCK
        self.absorb(result.recorded)
        return Outcome.DONE


class Outcome(Enum):
    DONE = "done"
    RESYNCED = "resynced"
    """Rejected, and the log had moved on: the state is fresh, try again."""
    STUCK = "stuck"
    """Rejected with nothing new in the log: wait for the next event."""
