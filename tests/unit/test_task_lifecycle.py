"""Every turn of the task lifecycle through the command handlers, on the in-memory store
and a fake clock: delays, leases and heartbeats, failures with backoff and dead letters,
timeouts, release, cancellation, an operator's retry, drain and pool execution."""

from collections.abc import Sequence
from datetime import timedelta

import pytest

from application.bus import CommandBus
from application.commands.assign_worker import AssignWorker
from application.commands.finish_task import CompleteTask, FailTask
from application.commands.leases import ExpireLease, Heartbeat, LeaseTask, ReleaseTask
from application.commands.pool_operations import ChangePoolExecution, DrainPool, ResumePool
from application.commands.register_worker_pool import RegisterWorkerPool
from application.commands.submit_task import SubmitTask
from application.commands.task_lifecycle import (
    CancelTask,
    MarkTaskReady,
    RetryTask,
    TimeOutTask,
)
from application.messages import MessageContext, RecordedEvent
from domain.errors import (
    CancelRequested,
    InvalidValue,
    LeaseNotHeld,
    LeaseRequired,
    NotDueYet,
    PoolBusy,
    PoolDraining,
    PoolNotExternal,
    TaskAlreadyLeased,
    TaskNotFailed,
    TaskNotQueued,
    WrongPool,
)
from domain.events import (
    PoolSlotReleased,
    TaskCancelled,
    TaskCancelRequested,
    TaskDeadLettered,
    TaskFailed,
    TaskLeased,
    TaskLeaseExpired,
    TaskLeaseExtended,
    TaskReady,
    TaskReleased,
    TaskRetried,
)
from domain.retry import RetryPolicy
from domain.scheduling import Decision, TaskSnapshot
from domain.task import Task, task_stream
from domain.values import Algorithm, Execution, ResourceType, TaskStatus, TaskType
from tests.fakes import FakeClock, InMemoryEventStore

CTX = MessageContext("req-1", None, "test")
LEASE_S = 30.0


def register(bus: CommandBus, name: str, execution: Execution, capacity: int = 2) -> str:
    command = RegisterWorkerPool(name, "us", ResourceType.CPU, 0.5, capacity, execution)
    pool_id = bus.handle(command, CTX).aggregate_id
    assert pool_id is not None
    return pool_id


@pytest.fixture
def external(bus: CommandBus) -> str:
    return register(bus, "us-external", Execution.EXTERNAL)


@pytest.fixture
def simulated(bus: CommandBus) -> str:
    return register(bus, "us-simulated", Execution.SIMULATED)


def submit(bus: CommandBus, **options: object) -> str:
    task_id = bus.handle(SubmitTask(TaskType.ORDER, 5, 1.0, "us", **options), CTX).aggregate_id  # type: ignore[arg-type]
    assert task_id is not None
    return task_id


def assign(bus: CommandBus, task_id: str, pool_id: str) -> None:
    snapshot = TaskSnapshot(task_id, 5, "us", None)
    decision = Decision(Algorithm.FIFO, 1, snapshot, (), (), (), pool_id, "chosen")
    bus.handle(AssignWorker(task_id, pool_id, decision), CTX)


def lease(bus: CommandBus, task_id: str, pool_id: str, worker: str = "w-1") -> TaskLeased:
    (recorded,) = bus.handle(LeaseTask(task_id, pool_id, worker, LEASE_S), CTX).recorded
    event = recorded.event
    assert isinstance(event, TaskLeased)
    return event


def task(store: InMemoryEventStore, task_id: str) -> Task:
    history = store.read_stream(task_stream(task_id))
    state = Task.start(history[0].event)
    for recorded in history[1:]:
        state = state.when(recorded.event)
    return state


def kinds(recorded: Sequence[RecordedEvent]) -> list[str]:
    return [event.type for event in recorded]


def leased_task(bus: CommandBus, pool_id: str, **options: object) -> tuple[str, str]:
    task_id = submit(bus, **options)
    assign(bus, task_id, pool_id)
    return task_id, lease(bus, task_id, pool_id).lease_token


# -- delayed tasks ---------------------------------------------------------------------------


def test_a_task_with_a_future_not_before_waits_delayed_until_then(
    bus: CommandBus, memory_store: InMemoryEventStore, clock: FakeClock
) -> None:
    task_id = submit(bus, not_before=clock.now() + timedelta(seconds=60))
    assert task(memory_store, task_id).status is TaskStatus.DELAYED
    with pytest.raises(NotDueYet):
        bus.handle(MarkTaskReady(task_id), CTX)
    clock.advance(60)
    (ready,) = bus.handle(MarkTaskReady(task_id), CTX).recorded
    assert isinstance(ready.event, TaskReady)
    assert task(memory_store, task_id).status is TaskStatus.QUEUED


def test_a_not_before_in_the_past_queues_at_once_and_a_far_one_is_refused(
    bus: CommandBus, memory_store: InMemoryEventStore, clock: FakeClock
) -> None:
    task_id = submit(bus, not_before=clock.now() - timedelta(seconds=1))
    assert task(memory_store, task_id).status is TaskStatus.QUEUED
    with pytest.raises(TaskNotQueued.__mro__[1]):  # only a delayed task is made ready
        bus.handle(MarkTaskReady(task_id), CTX)
    with pytest.raises(InvalidValue, match="at most 366 days ahead"):
        submit(bus, not_before=clock.now() + timedelta(days=400))


# -- retries, backoff and dead letters -------------------------------------------------------


def test_backoff_doubles_with_equal_jitter_and_is_capped() -> None:
    policy = RetryPolicy(max_attempts=10, backoff_s=2.0, backoff_max_s=10.0)
    assert [policy.backoff(n, 0.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
    assert [policy.backoff(n, 0.999) for n in (1, 2)] == pytest.approx([1.999, 3.998])
    assert policy.backoff(500, 0.5) == 7.5, "a huge failure count stays capped"


@pytest.mark.parametrize(
    "policy",
    [RetryPolicy(0), RetryPolicy(101), RetryPolicy(3, -1.0), RetryPolicy(3, 5.0, 1.0)],
)
def test_a_retry_policy_out_of_range_is_refused(bus: CommandBus, policy: RetryPolicy) -> None:
    with pytest.raises(InvalidValue):
        submit(bus, retry=policy)


def test_failed_attempts_back_off_then_the_task_is_dead_lettered(
    bus: CommandBus, memory_store: InMemoryEventStore, clock: FakeClock, simulated: str
) -> None:
    task_id = submit(bus, retry=RetryPolicy(max_attempts=3, backoff_s=4.0))
    waits = []
    for attempt in (1, 2):
        assign(bus, task_id, simulated)
        failed, released = bus.handle(FailTask(task_id, f"boom {attempt}"), CTX).recorded
        assert isinstance(failed.event, TaskFailed)
        assert failed.event.attempt == attempt
        assert isinstance(released.event, PoolSlotReleased), "the slot is freed at once"
        assert failed.event.retry_at is not None
        waits.append((failed.event.retry_at - clock.now()).total_seconds())
        state = task(memory_store, task_id)
        assert (state.status, state.failures) == (TaskStatus.DELAYED, attempt)
        clock.advance(waits[-1])
        bus.handle(MarkTaskReady(task_id), CTX)
    assert waits == [3.0, 6.0], "4 s then 8 s, each with the jitter's 0.5 of the upper half"
    assign(bus, task_id, simulated)
    recorded = bus.handle(FailTask(task_id, "boom 3"), CTX).recorded
    assert kinds(recorded) == ["TaskFailed", "TaskDeadLettered", "PoolSlotReleased"]
    final, dead = recorded[0].event, recorded[1].event
    assert isinstance(final, TaskFailed)
    assert final.retry_at is None
    assert isinstance(dead, TaskDeadLettered)
    assert dead.attempts == 3
    assert task(memory_store, task_id).status is TaskStatus.FAILED


def test_a_task_with_one_attempt_fails_without_a_dead_letter_record(
    bus: CommandBus, simulated: str
) -> None:
    task_id = submit(bus, retry=RetryPolicy(max_attempts=1))
    assign(bus, task_id, simulated)
    assert kinds(bus.handle(FailTask(task_id, "x"), CTX).recorded) == [
        "TaskFailed",
        "PoolSlotReleased",
    ]


def test_an_operators_retry_gives_a_dead_letter_a_fresh_round(
    bus: CommandBus, memory_store: InMemoryEventStore, simulated: str
) -> None:
    task_id = submit(bus, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(TaskNotFailed):
        bus.handle(RetryTask(task_id), CTX)
    assign(bus, task_id, simulated)
    bus.handle(FailTask(task_id, "x"), CTX)
    operator = MessageContext("req-2", None, "key:alice")
    (retried,) = bus.handle(RetryTask(task_id), operator).recorded
    assert isinstance(retried.event, TaskRetried)
    assert retried.metadata.actor == "key:alice"
    state = task(memory_store, task_id)
    assert (state.status, state.failures, state.attempt) == (TaskStatus.DELAYED, 0, 1)
    bus.handle(MarkTaskReady(task_id), CTX)
    assign(bus, task_id, simulated)
    assert task(memory_store, task_id).attempt == 2


# -- leases ------------------------------------------------------------------------------------


def test_only_an_external_pools_assigned_tasks_can_be_leased_and_only_once(
    bus: CommandBus, external: str, simulated: str
) -> None:
    on_simulator = submit(bus)
    assign(bus, on_simulator, simulated)
    with pytest.raises(PoolNotExternal):
        lease(bus, on_simulator, simulated)
    task_id = submit(bus)
    assign(bus, task_id, external)
    other = register(bus, "us-external-2", Execution.EXTERNAL)
    with pytest.raises(WrongPool):
        bus.handle(LeaseTask(task_id, other, "w-1", LEASE_S), CTX)
    first = lease(bus, task_id, external, "w-1")
    assert (first.attempt, first.worker_id) == (1, "w-1")
    with pytest.raises(TaskAlreadyLeased, match="w-1"):
        lease(bus, task_id, external, "w-2")


def test_heartbeats_extend_the_lease_recording_only_when_a_third_is_gone(
    bus: CommandBus, memory_store: InMemoryEventStore, clock: FakeClock, external: str
) -> None:
    task_id, token = leased_task(bus, external)
    clock.advance(9)
    assert bus.handle(Heartbeat(task_id, token, LEASE_S), CTX).recorded == ()
    clock.advance(2)
    (extended,) = bus.handle(Heartbeat(task_id, token, LEASE_S), CTX).recorded
    assert isinstance(extended.event, TaskLeaseExtended)
    assert extended.event.expires_at == clock.now() + timedelta(seconds=LEASE_S)
    with pytest.raises(LeaseNotHeld, match="not the task's current lease"):
        bus.handle(Heartbeat(task_id, "forged", LEASE_S), CTX)
    clock.advance(LEASE_S)
    with pytest.raises(LeaseNotHeld, match="expired"):
        bus.handle(Heartbeat(task_id, token, LEASE_S), CTX)


def test_an_external_task_hears_only_from_its_lease_holder(
    bus: CommandBus, memory_store: InMemoryEventStore, external: str
) -> None:
    task_id = submit(bus)
    assign(bus, task_id, external)
    with pytest.raises(LeaseRequired):
        bus.handle(CompleteTask(task_id), CTX)
    token = lease(bus, task_id, external).lease_token
    with pytest.raises(LeaseRequired):
        bus.handle(FailTask(task_id, "x"), CTX)
    with pytest.raises(LeaseNotHeld):
        bus.handle(CompleteTask(task_id, "someone else's"), CTX)
    recorded = bus.handle(CompleteTask(task_id, token), CTX).recorded
    assert kinds(recorded) == ["TaskCompleted", "PoolSlotReleased"]


def test_an_expired_lease_retries_the_task_and_fences_off_the_old_worker(
    bus: CommandBus, memory_store: InMemoryEventStore, clock: FakeClock, external: str
) -> None:
    task_id, token = leased_task(bus, external)
    with pytest.raises(NotDueYet):
        bus.handle(ExpireLease(task_id), CTX)
    clock.advance(LEASE_S)
    recorded = bus.handle(ExpireLease(task_id), CTX).recorded
    assert kinds(recorded) == ["TaskLeaseExpired", "PoolSlotReleased"]
    expired = recorded[0].event
    assert isinstance(expired, TaskLeaseExpired)
    assert (expired.worker_id, expired.attempt) == ("w-1", 1)
    assert expired.retry_at is not None
    assert expired.retry_at > clock.now()
    state = task(memory_store, task_id)
    assert (state.status, state.failures, state.lease) == (TaskStatus.DELAYED, 1, None)
    with pytest.raises(LeaseNotHeld):
        bus.handle(CompleteTask(task_id, token), CTX)
    clock.advance(600)
    bus.handle(MarkTaskReady(task_id), CTX)
    assign(bus, task_id, external)
    second = lease(bus, task_id, external, "w-2")
    assert (second.attempt, second.lease_token != token) == (2, True)
    with pytest.raises(LeaseNotHeld):
        bus.handle(CompleteTask(task_id, token), CTX)


def test_a_released_task_waits_for_a_new_attempt_without_counting_a_failure(
    bus: CommandBus, memory_store: InMemoryEventStore, external: str
) -> None:
    task_id, token = leased_task(bus, external)
    recorded = bus.handle(ReleaseTask(task_id, token, "worker stopping"), CTX).recorded
    assert kinds(recorded) == ["TaskReleased", "PoolSlotReleased"]
    released = recorded[0].event
    assert isinstance(released, TaskReleased)
    assert released.worker_id == "w-1"
    state = task(memory_store, task_id)
    assert (state.status, state.failures) == (TaskStatus.DELAYED, 0)
    bus.handle(MarkTaskReady(task_id), CTX)
    assert task(memory_store, task_id).status is TaskStatus.QUEUED


# -- timeouts ----------------------------------------------------------------------------------


def test_an_attempt_past_its_timeout_fails_with_reason_timeout(
    bus: CommandBus, memory_store: InMemoryEventStore, clock: FakeClock, simulated: str
) -> None:
    task_id = submit(bus, timeout_s=5.0)
    assign(bus, task_id, simulated)
    with pytest.raises(NotDueYet):
        bus.handle(TimeOutTask(task_id, 1), CTX)
    clock.advance(5)
    with pytest.raises(NotDueYet):
        bus.handle(TimeOutTask(task_id, 2), CTX)  # not the running attempt
    recorded = bus.handle(TimeOutTask(task_id, 1), CTX).recorded
    failed = recorded[0].event
    assert isinstance(failed, TaskFailed)
    assert failed.reason == "timeout: still running after 5 s"
    assert task(memory_store, task_id).status is TaskStatus.DELAYED


# -- cancellation ------------------------------------------------------------------------------


def test_cancelling_waiting_or_unheld_tasks_is_immediate_and_frees_the_slot(
    bus: CommandBus, memory_store: InMemoryEventStore, clock: FakeClock, external: str
) -> None:
    delayed = submit(bus, not_before=clock.now() + timedelta(hours=1))
    (cancelled,) = bus.handle(CancelTask(delayed), CTX).recorded
    assert isinstance(cancelled.event, TaskCancelled)
    assert cancelled.event.from_status is TaskStatus.DELAYED
    unheld = submit(bus)
    assign(bus, unheld, external)
    recorded = bus.handle(CancelTask(unheld), CTX).recorded
    assert kinds(recorded) == ["TaskCancelled", "PoolSlotReleased"]


def test_cancelling_a_held_task_asks_its_worker_who_acknowledges_by_releasing(
    bus: CommandBus, memory_store: InMemoryEventStore, external: str
) -> None:
    task_id, token = leased_task(bus, external)
    (requested,) = bus.handle(CancelTask(task_id, "changed my mind"), CTX).recorded
    assert isinstance(requested.event, TaskCancelRequested)
    assert bus.handle(CancelTask(task_id), CTX).recorded == (), "asking twice records nothing"
    assert task(memory_store, task_id).cancel_requested
    assert bus.handle(Heartbeat(task_id, token, LEASE_S), CTX).recorded == ()
    recorded = bus.handle(ReleaseTask(task_id, token, "stopped"), CTX).recorded
    assert kinds(recorded) == ["TaskCancelled", "PoolSlotReleased"]
    cancelled = recorded[0].event
    assert isinstance(cancelled, TaskCancelled)
    assert cancelled.from_status is TaskStatus.PROCESSING
    assert task(memory_store, task_id).status is TaskStatus.CANCELLED


def test_a_cancel_request_nobody_acknowledges_ends_with_the_lease(
    bus: CommandBus, clock: FakeClock, external: str
) -> None:
    task_id, _ = leased_task(bus, external)
    bus.handle(CancelTask(task_id), CTX)
    with pytest.raises(CancelRequested):
        bus.handle(LeaseTask(task_id, external, "w-2", LEASE_S), CTX)
    clock.advance(LEASE_S)
    recorded = bus.handle(ExpireLease(task_id), CTX).recorded
    assert kinds(recorded) == ["TaskCancelled", "PoolSlotReleased"]


# -- pools -------------------------------------------------------------------------------------


def test_a_draining_pool_takes_no_new_task_and_its_running_ones_finish(
    bus: CommandBus, simulated: str
) -> None:
    running = submit(bus)
    assign(bus, running, simulated)
    bus.handle(DrainPool(simulated), CTX)
    assert bus.handle(DrainPool(simulated), CTX).recorded == ()
    waiting = submit(bus)
    with pytest.raises(PoolDraining):
        assign(bus, waiting, simulated)
    bus.handle(CompleteTask(running), CTX)
    bus.handle(ResumePool(simulated), CTX)
    assign(bus, waiting, simulated)


def test_only_an_idle_pool_changes_who_runs_its_tasks(bus: CommandBus, simulated: str) -> None:
    running = submit(bus)
    assign(bus, running, simulated)
    with pytest.raises(PoolBusy):
        bus.handle(ChangePoolExecution(simulated, Execution.EXTERNAL), CTX)
    bus.handle(CompleteTask(running), CTX)
    (changed,) = bus.handle(ChangePoolExecution(simulated, Execution.EXTERNAL), CTX).recorded
    assert changed.type == "PoolExecutionChanged"
