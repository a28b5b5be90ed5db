"""The scheduler policy over the in-memory store, driven step by step with run_once."""

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from application.bus import CommandBus, InlineSender
from application.commands.change_pool_capacity import ChangePoolCapacity
from application.commands.finish_task import CompleteTask
from application.commands.register_worker_pool import RegisterWorkerPool
from application.commands.submit_task import SubmitTask
from application.commands.switch_algorithm import SwitchAlgorithm
from application.commands.task_lifecycle import CancelTask
from application.commit_signal import CommitSignal
from application.errors import StoreUnavailable
from application.messages import MessageContext
from application.restored_state import RunningTasks, SchedulerState, WaitingTask
from application.scheduling.scheduler import Scheduler
from application.tracing import TraceParent
from domain.events import TaskDeferred, WorkerAssigned
from domain.scheduling import DecisionRecord, PoolSnapshot
from domain.values import Algorithm, ResourceType, TaskType
from tests.fakes import EmptyStateSource, FailingWrites, InMemoryEventStore

CTX = MessageContext("req", None, "test")


def make_policy(store: InMemoryEventStore, sender: InlineSender, signal: CommitSignal) -> Scheduler:
    policy = Scheduler(store, sender, EmptyStateSource(), signal)
    policy.restore()
    return policy


def pool(
    bus: CommandBus,
    name: str,
    capacity: int,
    kind: ResourceType = ResourceType.CPU,
    cost: float = 1.0,
    region: str = "us",
) -> str:
    pool_id = bus.handle(RegisterWorkerPool(name, region, kind, cost, capacity), CTX).aggregate_id
    assert pool_id is not None
    return pool_id


def submit(
    bus: CommandBus,
    task_id: str,
    priority: int = 5,
    kind: ResourceType | None = None,
    region: str = "us",
) -> str:
    bus.handle(
        SubmitTask(TaskType.ORDER, priority, 1.0, region, kind, task_id=task_id),
        MessageContext(f"req-{task_id}"),
    )
    return task_id


def assignments(store: InMemoryEventStore) -> list[tuple[str, str]]:
    return [
        (r.event.task_id, r.event.pool_name)
        for r in store.read_all(0, 10_000)
        if isinstance(r.event, WorkerAssigned)
    ]


def deferrals(store: InMemoryEventStore) -> list[tuple[str, str]]:
    return [
        (r.event.task_id, r.event.decision.summary)
        for r in store.read_all(0, 10_000)
        if isinstance(r.event, TaskDeferred)
    ]


def test_places_queued_tasks_in_submission_order(bus, sender, memory_store, signal) -> None:  # type: ignore[no-untyped-def]
    pool(bus, "a", 2)
    pool(bus, "b", 1)
    for task_id in ("t1", "t2", "t3"):
        submit(bus, task_id)
    make_policy(memory_store, sender, signal).run_once()
    assert assignments(memory_store) == [("t1", "a"), ("t2", "a"), ("t3", "b")]


def test_defers_once_per_wait_and_places_when_capacity_frees(
    bus, sender, memory_store, signal
) -> None:  # type: ignore[no-untyped-def]
    pool(bus, "a", 1)
    for task_id in ("t1", "t2", "t3"):
        submit(bus, task_id)
    policy = make_policy(memory_store, sender, signal)
    policy.run_once()
    assert assignments(memory_store) == [("t1", "a")]
    assert deferrals(memory_store) == [
        ("t2", "0/1 pools available: 1 at capacity"),
        ("t3", "0/1 pools available: 1 at capacity"),
    ]
    policy.run_once()
    assert len(deferrals(memory_store)) == 2

    bus.handle(CompleteTask("t1"), CTX)
    policy.run_once()
    assert assignments(memory_store) == [("t1", "a"), ("t2", "a")]
    assert len(deferrals(memory_store)) == 2
    assert policy.waiting == 1


def test_priority_takes_highest_priority_first_ties_by_submission(
    bus, sender, memory_store, signal
) -> None:  # type: ignore[no-untyped-def]
    pool_id = pool(bus, "a", 0)
    bus.handle(SwitchAlgorithm(Algorithm.PRIORITY), CTX)
    submit(bus, "low", priority=2)
    submit(bus, "high-1", priority=9)
    submit(bus, "mid", priority=5)
    submit(bus, "high-2", priority=9)
    policy = make_policy(memory_store, sender, signal)
    policy.run_once()
    bus.handle(ChangePoolCapacity(pool_id, 4), CTX)
    policy.run_once()
    assert [task for task, _ in assignments(memory_store)] == ["high-1", "high-2", "mid", "low"]


def test_switching_back_to_fifo_restores_submission_order(
    bus, sender, memory_store, signal
) -> None:  # type: ignore[no-untyped-def]
    pool_id = pool(bus, "a", 0)
    bus.handle(SwitchAlgorithm(Algorithm.PRIORITY), CTX)
    submit(bus, "first", priority=1)
    submit(bus, "second", priority=10)
    policy = make_policy(memory_store, sender, signal)
    policy.run_once()
    bus.handle(SwitchAlgorithm(Algorithm.FIFO), CTX)
    bus.handle(ChangePoolCapacity(pool_id, 1), CTX)
    policy.run_once()
    assert assignments(memory_store) == [("first", "a")]


def test_a_waiting_gpu_task_does_not_block_cpu_tasks(bus, sender, memory_store, signal) -> None:  # type: ignore[no-untyped-def]
    pool(bus, "cpu", 2)
    pool(bus, "gpu", 0, ResourceType.GPU)
    submit(bus, "g1", kind=ResourceType.GPU)
    submit(bus, "c1", kind=ResourceType.CPU)
    submit(bus, "any")
    make_policy(memory_store, sender, signal).run_once()
    assert assignments(memory_store) == [("c1", "cpu"), ("any", "cpu")]
    assert deferrals(memory_store) == [
        ("g1", "0/2 pools available: 1 at capacity, 1 wrong resource type")
    ]


def test_a_cancelled_waiting_task_is_never_placed(bus, sender, memory_store, signal) -> None:  # type: ignore[no-untyped-def]
    pool_id = pool(bus, "a", 0)
    submit(bus, "t1")
    submit(bus, "t2")
    policy = make_policy(memory_store, sender, signal)
    policy.run_once()
    bus.handle(CancelTask("t1"), CTX)
    bus.handle(ChangePoolCapacity(pool_id, 5), CTX)
    policy.run_once()
    assert assignments(memory_store) == [("t2", "a")]


def test_assignment_carries_the_requests_correlation_id(bus, sender, memory_store, signal) -> None:  # type: ignore[no-untyped-def]
    pool(bus, "a", 1)
    submit(bus, "t1")
    policy = make_policy(memory_store, sender, signal)
    policy.run_once()
    (assigned,) = [r for r in memory_store.read_all() if isinstance(r.event, WorkerAssigned)]
    assert assigned.metadata.correlation_id == "req-t1"
    assert assigned.metadata.actor == "scheduler"
    assert assigned.metadata.causation_id is not None
    decision = assigned.event.decision
    assert isinstance(decision, DecisionRecord)
    assert (decision.seen, decision.run) == (assigned.position - 1, policy.run)
    assert decision.chose
    assert decision.summary == "fifo v1 chose a: first registered of 1 in us with free capacity"


def test_resumes_from_restored_state_after_a_restart(bus, sender, memory_store, signal) -> None:  # type: ignore[no-untyped-def]
    """Tasks queued before a crash are in the start-up state and still get placed."""
    pool_id = pool(bus, "a", 3)
    submit(bus, "t1")
    submit(bus, "t2")
    head = memory_store.head()

    class Restored(EmptyStateSource):
        def scheduler_state(self) -> SchedulerState:
            snapshot = PoolSnapshot(pool_id, "a", "us", ResourceType.CPU, 1.0, 3, 0, 1)
            waiting = [
                WaitingTask(t, 5, "us", None, p, f"req-{t}", False)
                for t, p in (("t1", 2), ("t2", 3))
            ]
            return SchedulerState(head, Algorithm.FIFO, [snapshot], waiting)

        def running_tasks(self) -> RunningTasks:
            return RunningTasks(head, [])

    policy = Scheduler(memory_store, sender, Restored(), signal)
    policy.restore()
    assert policy.position == head
    policy.run_once()
    assert assignments(memory_store) == [("t1", "a"), ("t2", "a")]


def test_the_running_policy_is_woken_by_new_events(bus, sender, memory_store, signal) -> None:  # type: ignore[no-untyped-def]
    pool(bus, "a", 5)
    policy = Scheduler(memory_store, sender, EmptyStateSource(), signal)
    placed = threading.Event()

    original = policy.apply

    def watch(recorded):  # type: ignore[no-untyped-def]
        original(recorded)
        if isinstance(recorded.event, WorkerAssigned):
            placed.set()

    policy.apply = watch  # type: ignore[method-assign]
    policy.start()
    try:
        submit(bus, "t1")
        assert placed.wait(5), "the scheduler did not react to TaskQueued"
    finally:
        policy.stop()
    assert not policy.running
    assert assignments(memory_store) == [("t1", "a")]


def test_assignments_that_fail_to_write_give_back_their_task_and_slot(
    bus, sender, memory_store, signal
) -> None:  # type: ignore[no-untyped-def]
    """A locked or full database fails the round: every task is waiting again, in its
    place, and no slot stays claimed on the board (no phantom load), so the retry places
    them as if nothing had happened. t2 was decided on a board where t1 held a slot: with
    t1 not recorded, t2 is refused too (its inputs could not be rebuilt from the log)."""
    pool(bus, "a", 2)
    for task_id in ("t1", "t2", "t3"):
        submit(bus, task_id)
    flaky = FailingWrites(sender, failures=1)
    policy = make_policy(memory_store, flaky, signal)  # type: ignore[arg-type]
    with pytest.raises(StoreUnavailable):
        policy.run_once()
    assert assignments(memory_store) == [], "t1's write failed, so t2 after it was refused"
    assert policy.waiting == 3
    assert policy.claimed_slots == 0
    flaky.failures = 5
    with pytest.raises(StoreUnavailable):
        policy.run_once()
    assert policy.waiting == 3
    flaky.failures = 0
    policy.run_once()
    assert assignments(memory_store) == [("t1", "a"), ("t2", "a")]
    assert policy.waiting == 1
    assert [summary for _, summary in deferrals(memory_store)] == [
        "0/1 pools available: 1 at capacity"
    ], "t3 waits for a slot that two tasks really hold"


def test_a_deferral_that_fails_to_write_is_recorded_on_the_retry(
    bus, sender, memory_store, signal
) -> None:  # type: ignore[no-untyped-def]
    pool(bus, "cpu", 1)
    submit(bus, "gpu-task", kind=ResourceType.GPU)
    flaky = FailingWrites(sender, failures=1)
    policy = make_policy(memory_store, flaky, signal)  # type: ignore[arg-type]
    with pytest.raises(StoreUnavailable):
        policy.run_once()
    assert deferrals(memory_store) == []
    policy.run_once()
    policy.run_once()
    assert [task for task, _ in deferrals(memory_store)] == ["gpu-task"], "once, not twice"


def test_the_running_policy_shows_its_failure_backs_off_and_recovers(
    bus, sender, memory_store, signal
) -> None:  # type: ignore[no-untyped-def]
    """Failed rounds are retried by the reactor's loop, not left for the next event: the
    failure is visible (what, how many in a row) while it lasts and clears after."""
    pool(bus, "a", 5)
    flaky = FailingWrites(sender, failures=4)
    policy = Scheduler(memory_store, flaky, EmptyStateSource(), signal)  # type: ignore[arg-type]
    seen: list[tuple[int, str]] = []
    recorded_failure = policy._failed

    def watch(error: Exception) -> float:
        delay = recorded_failure(error)
        seen.append((policy.failing.failures, policy.failing.error))  # type: ignore[union-attr]
        return delay

    policy._failed = watch  # type: ignore[method-assign]
    policy.start()
    try:
        submit(bus, "t1")
        deadline = time.monotonic() + 10
        while (not assignments(memory_store) or policy.failing) and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        policy.stop()
    assert assignments(memory_store) == [("t1", "a")]
    assert [count for count, _ in seen] == [1, 2, 3, 4]
    assert all("database is locked" in error for _, error in seen)
    assert policy.failing is None
    assert policy.failures_total == 4


class RecordingTracer:
    """The Tracer port, on: each span a child numbered in order, recorded with its parent."""

    enabled = True

    def __init__(self) -> None:
        self.spans: list[tuple[str, TraceParent | None, dict[str, object]]] = []

    def current(self) -> TraceParent | None:
        return None

    @contextlib.contextmanager
    def span(self, name: str, parent: TraceParent | None, attributes: Any) -> Iterator[TraceParent]:
        self.spans.append((name, parent, dict(attributes)))
        yield TraceParent("a" * 32, f"{len(self.spans):016x}")


def test_with_tracing_on_each_command_is_a_span_under_its_tasks_trace(  # type: ignore[no-untyped-def]
    bus, sender, memory_store, signal
) -> None:
    pool(bus, "a", 2)
    submitted = TraceParent("b" * 32, "c" * 16)

    def trace_of(stream_id: str) -> TraceParent | None:
        if stream_id == "task-t2":
            raise StoreUnavailable("the database is locked")  # no reason to fail the task
        return submitted

    tracer = RecordingTracer()
    policy = Scheduler(memory_store, sender, EmptyStateSource(), signal, None, tracer, trace_of)
    policy.restore()
    submit(bus, "t1")
    submit(bus, "t2")
    policy.run_once()
    assert [task for task, _ in assignments(memory_store)] == ["t1", "t2"]
    assert [(name, parent) for name, parent, _ in tracer.spans] == [
        ("taskrouterx.schedule", submitted),
        ("taskrouterx.schedule", None),
    ]
    assert tracer.spans[0][2]["taskrouterx.command"] == "AssignWorker"
    traces = [r.metadata.trace for r in memory_store.read_all(0, 100)
              if isinstance(r.event, WorkerAssigned)]  # fmt: skip
    assert traces == [TraceParent("a" * 32, f"{1:016x}"), TraceParent("a" * 32, f"{2:016x}")]
