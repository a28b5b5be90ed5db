"""Preemption: the Task aggregate's rules, and the scheduler stopping preemptible tasks of
tenants over their share (or of lower priority) for a waiting task, over the in-memory
store, driven step by step with run_once."""

from dataclasses import replace

import pytest

from application.bus import CommandBus, InlineSender
from application.commands.finish_task import CompleteTask
from application.commands.leases import Heartbeat, LeaseTask
from application.commands.pool_operations import ChangePoolExecution
from application.commands.preempt_task import PreemptTask
from application.commands.submit_task import SubmitTask
from application.commands.switch_algorithm import SwitchAlgorithm
from application.commands.task_lifecycle import CancelTask, MarkTaskReady
from application.commands.tenants import CreateTenant
from application.commit_signal import CommitSignal
from application.messages import MessageContext
from application.scheduling.scheduler import Scheduler
from domain.errors import LeaseNotHeld, PreemptionRefused
from domain.events import PoolSlotReleased, TaskCancelled, TaskPreempted, WorkerAssigned
from domain.task import PreemptionFacts
from domain.values import Algorithm, Execution, Limits, ResourceType, TaskStatus, TaskType
from tests.fakes import EmptyStateSource, InMemoryEventStore
from tests.unit.test_scheduler import pool

CTX = MessageContext("req", None, "test")
CPU = ResourceType.CPU
FACTS = PreemptionFacts("a test's rule", 0.75, 0.5, 0, "run")


def submit(
    bus: CommandBus,
    task_id: str,
    tenant: str = "default",
    priority: int = 5,
    preemptible: bool = True,
    kind: ResourceType | None = ResourceType.CPU,
) -> str:
    bus.handle(
        SubmitTask(
            TaskType.ORDER, priority, 1.0, "us", kind, task_id=task_id, tenant=tenant,
            preemptible=preemptible,
        ),
        MessageContext(f"req-{task_id}"),
    )  # fmt: skip
    return task_id


def scheduler(store: InMemoryEventStore, sender: InlineSender, signal: CommitSignal) -> Scheduler:
    policy = Scheduler(store, sender, EmptyStateSource(), signal)
    policy.restore()
    return policy


def preemptions(store: InMemoryEventStore) -> list[TaskPreempted]:
    return [r.event for r in store.read_all(0, 10_000) if isinstance(r.event, TaskPreempted)]


def placed(store: InMemoryEventStore) -> list[str]:
    return [
        r.event.task_id for r in store.read_all(0, 10_000) if isinstance(r.event, WorkerAssigned)
    ]


def status(bus: CommandBus, store: InMemoryEventStore, task_id: str) -> TaskStatus:
    from domain.task import Task

    events = [r.event for r in store.read_all(0, 10_000) if r.stream_id == f"task-{task_id}"]
    task = Task.start(events[0])
    for event in events[1:]:
        task = task.when(event)
    return task.status


def ready_all(bus: CommandBus, store: InMemoryEventStore) -> None:
    """What the timekeeper does for tasks whose next attempt is due now."""
    for event in preemptions(store):
        if status(bus, store, event.task_id) is TaskStatus.DELAYED:
            bus.handle(MarkTaskReady(event.task_id), CTX)


def two_tenants(bus: CommandBus, capacity: int = 4) -> str:
    for name in ("a", "b"):
        bus.handle(CreateTenant(name), CTX)
    return pool(bus, "p", capacity)


def test_a_tenant_arriving_into_a_full_system_gets_a_slot_at_once_by_preemption(
    bus, sender, memory_store, signal
) -> None:  # type: ignore[no-untyped-def]
    two_tenants(bus)
    for index in range(6):
        submit(bus, f"a{index}", "a", priority=5 if index != 2 else 3)
    policy = scheduler(memory_store, sender, signal)
    policy.run_once()
    assert placed(memory_store) == ["a0", "a1", "a2", "a3"]

    submit(bus, "b0", "b")
    policy.run_once()

    (preempted,) = preemptions(memory_store)
    # a holds 4 of 4 (share 1), b would hold 1 (0.25): a's lowest priority task goes
    assert (preempted.task_id, preempted.tenant) == ("a2", "a")
    assert (preempted.beneficiary, preempted.beneficiary_tenant) == ("b0", "b")
    assert (preempted.victim_share, preempted.beneficiary_share) == (1.0, 0.25)
    assert preempted.rule == (
        "a over its share (1; 0.75 without the task >= b's 0.25 with it): lowest priority, newest"
    )
    assert placed(memory_store)[-1] == "b0"
    released = [
        r.event for r in memory_store.read_all(0, 10_000) if isinstance(r.event, PoolSlotReleased)
    ]
    assert [(e.task_id, e.outcome) for e in released] == [("a2", "preempted")]
    assert status(bus, memory_store, "a2") is TaskStatus.DELAYED


def test_preemption_stops_at_the_fair_share_and_takes_no_more_than_needed(
    bus, sender, memory_store, signal, clock
) -> None:  # type: ignore[no-untyped-def]
    two_tenants(bus)
    policy = scheduler(memory_store, sender, signal)
    for index in range(4):
        submit(bus, f"a{index}", "a")
        policy.run_once()
        clock.advance(1)
    for index in range(4):
        submit(bus, f"b{index}", "b")
    for _ in range(4):
        policy.run_once()
        ready_all(bus, memory_store)

    # b reaches 2 of 4; a third would leave a at 0.5 below b's 0.75 with the slot
    assert [e.beneficiary for e in preemptions(memory_store)] == ["b0", "b1"]
    assert [e.task_id for e in preemptions(memory_store)] == ["a3", "a2"]  # newest first
    assert placed(memory_store)[-2:] == ["b0", "b1"]
    assert policy.counters.preempted == 2


def test_tasks_that_are_not_preemptible_are_never_preempted(
    bus, sender, memory_store, signal
) -> None:  # type: ignore[no-untyped-def]
    two_tenants(bus, capacity=2)
    submit(bus, "a0", "a", preemptible=False)
    submit(bus, "a1", "a", preemptible=False)
    policy = scheduler(memory_store, sender, signal)
    policy.run_once()
    submit(bus, "b0", "b")
    policy.run_once()
    assert preemptions(memory_store) == []
    assert placed(memory_store) == ["a0", "a1"]


def test_within_one_tenant_only_a_lower_priority_task_gives_way(
    bus, sender, memory_store, signal
) -> None:  # type: ignore[no-untyped-def]
    pool(bus, "p", 2)
    bus.handle(SwitchAlgorithm(Algorithm.PRIORITY), CTX)
    submit(bus, "low", priority=2)
    submit(bus, "mid", priority=5)
    policy = scheduler(memory_store, sender, signal)
    policy.run_once()
    submit(bus, "same", priority=2)
    policy.run_once()
    assert preemptions(memory_store) == []  # equal priority never

    submit(bus, "urgent", priority=9)
    policy.run_once()
    (preempted,) = preemptions(memory_store)
    assert (preempted.task_id, preempted.beneficiary) == ("low", "urgent")
    assert "own lower priority task (2 < 9)" in preempted.rule
    assert placed(memory_store)[-1] == "urgent"


def test_a_tenant_at_its_quota_takes_nothing_from_others(bus, sender, memory_store, signal) -> None:  # type: ignore[no-untyped-def]
    bus.handle(CreateTenant("a"), CTX)
    bus.handle(CreateTenant("b", quota=Limits(cpu=0)), CTX)
    pool(bus, "p", 2)
    submit(bus, "a0", "a")
    submit(bus, "a1", "a")
    policy = scheduler(memory_store, sender, signal)
    policy.run_once()
    submit(bus, "b0", "b")
    policy.run_once()
    assert preemptions(memory_store) == []


def test_a_preempted_task_runs_again_without_a_failed_attempt(
    bus, sender, memory_store, signal
) -> None:  # type: ignore[no-untyped-def]
    two_tenants(bus, capacity=2)
    submit(bus, "a0", "a")
    submit(bus, "a1", "a", preemptible=False)
    policy = scheduler(memory_store, sender, signal)
    policy.run_once()
    submit(bus, "b0", "b")
    policy.run_once()
    ready_all(bus, memory_store)
    bus.handle(CompleteTask("b0"), CTX)
    policy.run_once()
    assert placed(memory_store) == ["a0", "a1", "b0", "a0"]
    from domain.task import Task

    events = [r.event for r in memory_store.read_all(0, 10_000) if r.stream_id == "task-a0"]
    task = Task.start(events[0])
    for event in events[1:]:
        task = task.when(event)
    assert (task.attempt, task.failures, task.status) == (2, 0, TaskStatus.PROCESSING)


def a_fills_an_external_pool(
    bus: CommandBus, store: InMemoryEventStore, sender: InlineSender, signal: CommitSignal
) -> tuple[str, Scheduler]:
    """Tenant a runs a0 (preemptible) and a1 in the two slots of an external pool."""
    pool_id = two_tenants(bus, capacity=2)
    bus.handle(ChangePoolExecution(pool_id, Execution.EXTERNAL), CTX)
    submit(bus, "a0", "a")
    submit(bus, "a1", "a", preemptible=False)
    policy = scheduler(store, sender, signal)
    policy.run_once()
    return pool_id, policy


def test_an_external_worker_learns_of_the_preemption_on_its_next_heartbeat(
    bus, sender, memory_store, signal
) -> None:  # type: ignore[no-untyped-def]
    pool_id, policy = a_fills_an_external_pool(bus, memory_store, sender, signal)
    lease = bus.handle(LeaseTask("a0", pool_id, "w-1", 30.0), CTX).recorded[0].event
    submit(bus, "b0", "b")
    policy.run_once()
    assert [e.task_id for e in preemptions(memory_store)] == ["a0"]
    with pytest.raises(LeaseNotHeld, match="attempt 1 was preempted"):
        bus.handle(Heartbeat("a0", lease.lease_token, 30.0), CTX)


def test_the_aggregate_refuses_what_the_rules_never_allow(bus, memory_store) -> None:  # type: ignore[no-untyped-def]
    pool_id = two_tenants(bus, capacity=3)
    submit(bus, "fixed", "a", preemptible=False)
    submit(bus, "high", "a", priority=8)
    submit(bus, "gpu", "b", kind=ResourceType.GPU)
    submit(bus, "peer", "a", priority=8)
    from application.commands.assign_worker import AssignWorker
    from domain.scheduling import PoolSnapshot, TaskSnapshot, decide

    for task_id, priority in (("fixed", 5), ("high", 8)):
        board = [PoolSnapshot(pool_id, "p", "us", ResourceType.CPU, 1.0, 3, 0, registration=1)]
        decision = decide(
            Algorithm.FIFO, TaskSnapshot(task_id, priority, "us", ResourceType.CPU), board
        )
        bus.handle(AssignWorker(task_id, pool_id, decision), CTX)
    with pytest.raises(PreemptionRefused, match="not preemptible"):
        bus.handle(PreemptTask("fixed", "peer", FACTS), CTX)
    with pytest.raises(PreemptionRefused, match="same tenant"):
        bus.handle(PreemptTask("high", "peer", FACTS), CTX)
    with pytest.raises(PreemptionRefused, match="needs gpu"):
        bus.handle(PreemptTask("high", "gpu", FACTS), CTX)
    with pytest.raises(PreemptionRefused, match="is processing"):
        bus.handle(PreemptTask("high", "fixed", FACTS), CTX)
    assert preemptions(memory_store) == []


def test_preempting_a_task_being_cancelled_cancels_it(bus, sender, memory_store, signal) -> None:  # type: ignore[no-untyped-def]
    pool_id, policy = a_fills_an_external_pool(bus, memory_store, sender, signal)
    bus.handle(LeaseTask("a0", pool_id, "w-1", 30.0), CTX)
    bus.handle(CancelTask("a0", "not needed"), CTX)
    submit(bus, "b0", "b")
    policy.run_once()
    assert [e.task_id for e in preemptions(memory_store)] == ["a0"]
    cancelled = [
        r.event for r in memory_store.read_all(0, 10_000) if isinstance(r.event, TaskCancelled)
    ]
    assert [e.task_id for e in cancelled] == ["a0"]
    assert status(bus, memory_store, "a0") is TaskStatus.CANCELLED
    assert placed(memory_store)[-1] == "b0"


def test_a_task_made_ready_by_an_event_from_before_preemption_is_not_preemptible() -> None:
    """Such a TaskReady reads as not preemptible (it did not say); the scheduler, the
    aggregate, the tasks read model and the audit all take that from it."""
    from application.read_models import tasks as task_rows
    from domain.events import TaskReady
    from domain.task import Task
    from tests.builders import T0, task_queued

    queued = replace(task_queued("t1", TaskType.ORDER, 5, 1.0, "us", CPU, {}, T0),
                     preemptible=True)  # fmt: skip
    ready = TaskReady("t1", 5, "us", CPU, T0, "default", preemptible=False)
    assert not Task.start(queued).when(ready).preemptible

    class Record:
        position, type, data, correlation_id = 9, "TaskReady", {"preemptible": False}, "c"

    assert task_rows.changes(Record())["preemptible"] == 0  # type: ignore[arg-type]
