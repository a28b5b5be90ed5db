"""The scheduler: a long-running reactor that places waiting tasks as TaskQueued events
and freed capacity arrive, and records one TaskDeferred per wait when no pool can take
a task."""

import secrets
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace

import structlog

from application.commands.assign_worker import AssignWorker
from application.commands.defer_task import DeferTask
from application.commands.preempt_task import PreemptTask
from application.commit_signal import CommitSignal
from application.errors import ConcurrencyConflict
from application.messages import Command, CommandResult, MessageContext, RecordedEvent
from application.ports import (
    CommandSender,
    EventStore,
    SchedulerStateSource,
    SchedulingObserver,
)
from application.reactor import Reactor
from application.restored_state import WaitingTask
from application.scheduling.pool_board import PoolBoard
from application.scheduling.tenant_shares import TenantShares
from application.scheduling.waiting_queue import WaitingQueue
from application.tracing import NO_TRACING, TraceParent, Tracer, parent_from
from domain.errors import DomainError
from domain.events import (
    AlgorithmSwitched,
    PoolCapacityChanged,
    PoolDrainStarted,
    PoolResumed,
    PoolSlotClaimed,
    PoolSlotReleased,
    TaskCancelled,
    TaskDeferred,
    TaskQueued,
    TaskReady,
    TenantChanged,
    TenantCreated,
    WorkerAssigned,
    WorkerPoolRegistered,
)
from domain.scheduling import (
    Decision,
    DecisionRecord,
    PoolSnapshot,
    TaskSnapshot,
    decide,
    record_of,
)
from domain.scheduling.tenant_stage import TenantStage
from domain.task import PreemptionFacts, task_stream
from domain.values import Algorithm, ResourceType, epoch_us

log = structlog.get_logger(__name__)

ACTOR = "scheduler"
TASK_STREAM_PREFIX = task_stream("")
_BY_STREAM_ALONE = frozenset({WorkerAssigned.type_name(), TaskDeferred.type_name()})
"""Events the scheduler folds from their envelope alone: which task (the stream) and what
happened (the type). Their payloads carry whole decisions, never decoded here."""
MAX_PREEMPTION_ROUNDS = 1_000
"""Rounds of one act after which it stops preempting (placing goes on; the next act
preempts again): a backstop against a policy that would pass slots back and forth."""
MAX_IN_FLIGHT = 256
"""Commands sent before waiting for their answers: they share the writer's group commit."""


@dataclass
class SchedulerCounters:
    assigned: int = 0
    deferred: int = 0
    preempted: int = 0
    rejected: int = 0


class Scheduler(Reactor):
    """Tasks join the waiting queue on TaskQueued (unless delayed) and on TaskReady (a
    delayed task whose time came, or one back for another attempt)."""

    name = "scheduler"

    def __init__(
        self,
        store: EventStore,
        sender: CommandSender,
        state_source: SchedulerStateSource,
        signal: CommitSignal,
        observer: SchedulingObserver | None = None,
        tracer: Tracer = NO_TRACING,
        trace_of: Callable[[str], TraceParent | None] = lambda stream_id: None,
    ) -> None:
        """`tracer`, `trace_of`: with tracing on, each command about a task is a span
        under the span the task's stream was last recorded under (`trace_of` finds it)."""
        super().__init__(store, signal)
        self._sender = sender
        self._tracer = tracer
        self._trace_of = trace_of
        self._state_source = state_source
        self._observer = observer
        self.algorithm = Algorithm.FIFO
        self._queue = WaitingQueue()
        self._board = PoolBoard()
        self._shares = TenantShares()
        self._last_event_id: str | None = None
        self._claims: dict[str, str] = {}
        """Slots this scheduler has claimed on its board before their events arrive."""
        self.run = ""
        """This run's name in its decision records (set when it restores): the slots on its
        board that the log did not hold yet are its own WorkerAssigned after `seen`."""
        self.counters = SchedulerCounters()
        self._preemption_due = True
        """Something changed that may call for a preemption: a task waits, a slot was
        taken, tenants or pools changed."""

    @property
    def waiting(self) -> int:
        return len(self._queue)

    @property
    def claimed_slots(self) -> int:
        """Slots the scheduler counts as taken, over all pools: equal to the pools' load
        in the read model once the log is followed (a higher figure is phantom load)."""
        return sum(pool.load for pool in list(self._board.snapshots()))

    def restore(self) -> None:
        state = self._state_source.scheduler_state()
        self.run = secrets.token_hex(4)
        self.position = state.position
        self.algorithm = state.algorithm
        self._queue = WaitingQueue(state.algorithm)
        self._board = PoolBoard()
        self._shares = TenantShares(state.tenants, state.held)
        self._claims = {}
        self._preemption_due = True
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
        if recorded.type in _BY_STREAM_ALONE:
            task_id = recorded.stream_id.removeprefix(TASK_STREAM_PREFIX)
            if recorded.type == TaskDeferred.type_name():
                self._queue.mark_deferred(task_id)
            elif (waiting := self._queue.remove(task_id)) is not None:
                # assigned by a run before this one: decoded, for when its attempt started
                assigned = recorded.event
                assert isinstance(assigned, WorkerAssigned)
                self._shares.assigned(waiting, epoch_us(assigned.assigned_at))
            return
        match recorded.event:
            case TaskQueued(not_before=not_before, enqueued_at=at) as queued if (
                not_before is None or not_before <= at
            ):
                self._wait(queued, recorded)
            case TaskReady() as ready:
                self._wait(ready, recorded)
            case TaskCancelled(task_id=task_id):
                self._queue.remove(task_id)
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
                self._preemption_due = True
            case PoolDrainStarted(pool_id=pool_id):
                self._board.set_draining(pool_id, True)
                self._preemption_due = True
            case PoolResumed(pool_id=pool_id):
                self._board.set_draining(pool_id, False)
                self._preemption_due = True
            case PoolSlotClaimed(pool_id=pool_id, task_id=task_id):
                if self._claims.pop(task_id, None) is None:
                    self._board.add_load(pool_id, 1)
                resource = self._board.resource_of(pool_id)
                if resource is not None:
                    self._shares.claimed(task_id, pool_id, resource)
                self._preemption_due = True
            case PoolSlotReleased(pool_id=pool_id, task_id=task_id):
                self._board.add_load(pool_id, -1)
                self._shares.release(task_id)
            case TenantCreated() | TenantChanged() as tenant_event:
                self._shares.apply(tenant_event)
                self._preemption_due = True
            case AlgorithmSwitched(algorithm=algorithm):
                self.algorithm = algorithm
                self._queue.reorder(algorithm)
                self._preemption_due = True

    def _wait(self, event: TaskQueued | TaskReady, recorded: RecordedEvent) -> None:
        self._queue.add(
            WaitingTask(
                event.task_id,
                event.priority,
                event.region,
                event.resource_type,
                recorded.position,
                recorded.metadata.correlation_id,
                deferred=False,
                tenant=event.tenant,
                preemptible=event.preemptible,
            )
        )
        self._preemption_due = True

    def act(self) -> None:
        rounds = 0  # a backstop: each preemption moves a slot for good (see choose_victim)
        while (
            self._place_all()
            | self._defer_unplaceable()
            | (rounds < MAX_PREEMPTION_ROUNDS and self._preempt())
        ):
            rounds += 1

    def _place_all(self) -> bool:
        """Place waiting tasks while some pool has room; True if anything changed.

        Assignments are pipelined: a round decides for up to MAX_IN_FLIGHT tasks, claiming
        their slots on the board at once, sends them all, then settles the answers; one
        that was not recorded (a rule or a concurrent write rejected it, or the write
        failed) gives its slot and its place in the queue back. A failed write then ends
        the round with its error, for the reactor to retry after a backoff.

        Each assignment names the one before it in the round (`after`): it counted that
        one's slot as taken, so it is recorded only if that one was, and every decision's
        board can be rebuilt from the log (see DecisionRecord)."""
        progressed = False
        while True:
            sent: list[tuple[WaitingTask, bool, str, Future[CommandResult]]] = []
            after: str | None = None
            while len(sent) < MAX_IN_FLIGHT and (picked := self._next()):
                task, stage = picked
                decision = self._decide(task)
                pool_id = decision.chosen_pool_id
                if pool_id is None:
                    break
                undeferred = self._queue.take(task.task_id)
                record = self._record(decision, stage)
                self._board.add_load(pool_id, 1)
                self._claims[task.task_id] = pool_id
                self._shares.hold(task.task_id, task.tenant, decision_resource(decision))
                command = AssignWorker(task.task_id, pool_id, record, after)
                sent.append((task, undeferred, pool_id, self._submit(command, task)))
                after = task.task_id
            if not sent:
                return progressed
            unrecorded = 0
            failure: Exception | None = None
            for task, undeferred, pool_id, future in sent:
                recorded, failed = self._settle(future, task)
                if recorded:
                    self.counters.assigned += 1
                    assigned = self._recorded(future, "assigned")
                    resource = self._board.resource_of(pool_id)
                    if task.preemptible and isinstance(assigned, WorkerAssigned) and resource:
                        started = epoch_us(assigned.assigned_at)
                        self._shares.started(task, pool_id, resource, started)
                    continue
                unrecorded += 1
                failure = failure or failed
                self._claims.pop(task.task_id, None)
                self._board.add_load(pool_id, -1)
                self._shares.release(task.task_id)
                self._queue.put_back(task, undeferred)
            if failure is not None:
                raise failure
            moved = self.catch_up()
            if unrecorded == len(sent) and not moved:
                return progressed
            progressed = True

    def _defer_unplaceable(self) -> bool:
        """Record one TaskDeferred for each newly waiting task no pool can take."""
        sent: list[tuple[WaitingTask, Future[CommandResult]]] = []
        for task in self._queue.undeferred():
            if len(sent) >= MAX_IN_FLIGHT:
                break
            decision = self._decide(task)
            if decision.chosen_pool_id is not None:
                continue
            self._queue.mark_deferred(task.task_id)
            record = self._record(decision)
            sent.append((task, self._submit(DeferTask(task.task_id, record), task)))
        if not sent:
            return False
        unrecorded = 0
        failure: Exception | None = None
        for task, future in sent:
            recorded, failed = self._settle(future, task)
            if recorded:
                self.counters.deferred += 1
                self._recorded(future, "deferred")
                continue
            unrecorded += 1
            failure = failure or failed
            self._queue.mark_undeferred(task.task_id)
        if failure is not None:
            raise failure
        moved = self.catch_up()
        return unrecorded < len(sent) or moved

    def _preempt(self) -> bool:
        """Preempt one running task if the task fair share would place next, were there a
        slot, has none and a task qualifies as its victim (`fair_share.choose_victim`; a
        lower priority task of its own tenant only under the priority algorithm); True if
        one was recorded. Decided on the state at `position` with no assignment
        in flight, so the audit rebuilds exactly the state it was decided on."""
        if not self._preemption_due or not self._shares.any_preemptible or self._claims:
            return False
        self._preemption_due = False
        by_priority = self.algorithm is Algorithm.PRIORITY
        found = self._shares.preemption(self._queue, self._board, by_priority)
        if found is None:
            return False
        task, preemption = found
        facts = PreemptionFacts(
            preemption.rule,
            preemption.victim_share,
            preemption.beneficiary_share,
            self.position,
            self.run,
        )
        future = self._submit(PreemptTask(preemption.victim, task.task_id, facts), task)
        recorded, failed = self._settle(future, task)
        if failed is not None:
            raise failed
        if recorded:
            self.counters.preempted += 1
            log.info(
                "scheduler.preempted",
                task_id=preemption.victim,
                tenant=preemption.victim_tenant,
                beneficiary=task.task_id,
                beneficiary_tenant=preemption.beneficiary_tenant,
                rule=preemption.rule,
                correlation_id=task.correlation_id,
            )
        self._preemption_due = True  # the next waiting task may need another
        return self.catch_up() or recorded

    def _next(self) -> tuple[WaitingTask, TenantStage | None] | None:
        """The next task to place (fair share picks its tenant), with the tenant stage."""
        heads = self._queue.heads(self._board.has_room)
        return self._shares.pick(heads, self._board.has_room, self._board.capacity())

    def _decide(self, task: WaitingTask) -> Decision:
        snapshot = TaskSnapshot(task.task_id, task.priority, task.region, task.resource_type)
        started = time.perf_counter()
        decision = decide(self.algorithm, snapshot, self._board.snapshots())
        if self._observer is not None:
            self._observer.decided(str(self.algorithm), time.perf_counter() - started)
        return decision

    def _record(self, decision: Decision, stage: TenantStage | None = None) -> DecisionRecord:
        """The record of a decision made on the board as it is (with the tenant stage that
        chose its task, if any)."""
        digest = self._board.digest(decision.task)
        record = record_of(decision, self.position, self.run, digest)
        return record if stage is None else replace(record, tenants=stage)

    def _recorded(
        self, future: "Future[CommandResult]", outcome: str
    ) -> WorkerAssigned | TaskDeferred:
        """Log the decision the log now holds (and count it); the event that holds it."""
        recorded = future.result().recorded[0]
        event = recorded.event
        assert isinstance(event, WorkerAssigned | TaskDeferred)
        decision = event.decision
        if self._observer is not None:
            self._observer.recorded(str(decision.algorithm), outcome)
        log.info(
            "scheduler.decision",
            task_id=event.task_id,
            outcome=outcome,
            pool_id=event.pool_id if isinstance(event, WorkerAssigned) else None,
            algorithm=str(decision.algorithm),
            summary=decision.summary,
            correlation_id=recorded.metadata.correlation_id,
        )
        return event

    def _submit(self, command: Command, task: WaitingTask) -> "Future[CommandResult]":
        """Send a command about `task`: with tracing on, a span under the task's trace
        (`taskrouterx.schedule`), recorded with the events the command makes."""
        if not self._tracer.enabled:  # tracing off costs a test
            context = MessageContext(task.correlation_id, self._last_event_id, ACTOR)
            return self._sender.submit(command, context)
        # a preemption is recorded on its victim's stream: under the victim's trace
        about = command.task_id if isinstance(command, PreemptTask) else task.task_id
        attributes = {"taskrouterx.task_id": about, "taskrouterx.for_task_id": task.task_id,
                      "taskrouterx.command": type(command).__name__,
                      "taskrouterx.algorithm": str(self.algorithm)}  # fmt: skip
        parent = parent_from(self._trace_of, task_stream(about))
        with self._tracer.span("taskrouterx.schedule", parent, attributes) as span:
            context = MessageContext(task.correlation_id, self._last_event_id, ACTOR, span)
            return self._sender.submit(command, context)

    def _settle(
        self, future: "Future[CommandResult]", task: WaitingTask
    ) -> tuple[bool, Exception | None]:
        """Wait for one command: whether it was recorded, and, if its write failed (rather
        than a rule or a concurrent write rejecting it), the error."""
        try:
            future.result()
        except (DomainError, ConcurrencyConflict) as rejection:
            self.counters.rejected += 1
            log.info("scheduler.rejected", task_id=task.task_id, reason=str(rejection))
            return False, None
        except Exception as error:
            return False, error
        return True, None


def decision_resource(decision: Decision) -> ResourceType:
    """The resource type of the pool a decision chose."""
    chosen = decision.chosen
    assert chosen is not None
    return chosen.resource_type
