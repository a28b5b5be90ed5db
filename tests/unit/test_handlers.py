"""Command handlers over the in-memory event store."""

import threading

import pytest

from application.aggregates import Aggregates
from application.bus import CommandBus
from application.commands.assign_worker import AssignWorker
from application.commands.change_pool_capacity import ChangePoolCapacity
from application.commands.finish_task import CompleteTask, FailTask
from application.commands.register_worker_pool import RegisterWorkerPool, pool_id_for
from application.commands.submit_task import SubmitTask
from application.commands.switch_algorithm import SwitchAlgorithm
from application.commands.task_lifecycle import CancelTask
from application.errors import ConcurrencyConflict
from application.messages import MessageContext, StreamWrite
from domain.errors import (
    PoolAlreadyRegistered,
    PoolAtCapacity,
    PoolNotFound,
    TaskFinished,
    TaskNotFound,
)
from domain.events import PoolSlotClaimed, TaskQueued, WorkerAssigned
from domain.scheduling import Decision, TaskSnapshot
from domain.values import Algorithm, ResourceType, TaskType
from tests.fakes import FakeClock, InMemoryEventStore, SequentialIds

CTX = MessageContext("req-1", None, "test")


def decision(task_id: str, pool_id: str) -> Decision:
    return Decision(
        Algorithm.FIFO, 1, TaskSnapshot(task_id, 5, "us", None), (), (), (), pool_id, "chosen"
    )


def register(bus: CommandBus, name: str = "us-cpu", capacity: int = 1) -> str:
    result = bus.handle(RegisterWorkerPool(name, "us", ResourceType.CPU, 0.5, capacity), CTX)
    assert result.aggregate_id is not None
    return result.aggregate_id


def submit(bus: CommandBus) -> str:
    result = bus.handle(SubmitTask(TaskType.ORDER, 5, 1.0, "us"), CTX)
    assert result.aggregate_id is not None
    return result.aggregate_id


def test_submit_records_task_queued_with_context(
    bus: CommandBus, memory_store: InMemoryEventStore
) -> None:
    task_id = submit(bus)
    (recorded,) = memory_store.read_stream(f"task-{task_id}")
    assert isinstance(recorded.event, TaskQueued)
    assert recorded.version == 1
    assert recorded.metadata.correlation_id == "req-1"
    assert recorded.metadata.actor == "test"


def test_assign_writes_task_and_pool_together(
    bus: CommandBus, memory_store: InMemoryEventStore
) -> None:
    pool_id = register(bus)
    task_id = submit(bus)
    result = bus.handle(AssignWorker(task_id, pool_id, decision(task_id, pool_id)), CTX)
    assert [type(r.event) for r in result.recorded] == [WorkerAssigned, PoolSlotClaimed]
    assert [r.stream_id for r in result.recorded] == [f"task-{task_id}", f"pool-{pool_id}"]
    assert result.recorded[1].position == result.recorded[0].position + 1


def test_a_full_pool_rejects_and_writes_nothing(
    bus: CommandBus, memory_store: InMemoryEventStore
) -> None:
    pool_id = register(bus, capacity=1)
    first, second = submit(bus), submit(bus)
    bus.handle(AssignWorker(first, pool_id, decision(first, pool_id)), CTX)
    head = memory_store.head()
    with pytest.raises(PoolAtCapacity):
        bus.handle(AssignWorker(second, pool_id, decision(second, pool_id)), CTX)
    assert memory_store.head() == head


def test_complete_frees_the_slot(bus: CommandBus) -> None:
    pool_id = register(bus, capacity=1)
    first, second = submit(bus), submit(bus)
    bus.handle(AssignWorker(first, pool_id, decision(first, pool_id)), CTX)
    bus.handle(CompleteTask(first), CTX)
    bus.handle(AssignWorker(second, pool_id, decision(second, pool_id)), CTX)
    bus.handle(FailTask(second, "boom"), CTX)
    third = submit(bus)
    bus.handle(AssignWorker(third, pool_id, decision(third, pool_id)), CTX)
    bus.handle(CancelTask(second), CTX)  # waiting out its backoff: cancelled at once
    with pytest.raises(TaskFinished):
        bus.handle(CancelTask(second), CTX)


def test_missing_things_are_not_found(bus: CommandBus) -> None:
    with pytest.raises(TaskNotFound):
        bus.handle(CancelTask("nope"), CTX)
    with pytest.raises(PoolNotFound):
        bus.handle(ChangePoolCapacity("nope", 3), CTX)


def test_a_pool_name_registers_once(bus: CommandBus) -> None:
    pool_id = register(bus, "gpu-a")
    assert pool_id == pool_id_for("gpu-a")
    with pytest.raises(PoolAlreadyRegistered):
        register(bus, "gpu-a")


def test_capacity_change_to_same_value_records_nothing(bus: CommandBus) -> None:
    pool_id = register(bus, capacity=2)
    assert bus.handle(ChangePoolCapacity(pool_id, 2), CTX).recorded == ()
    assert len(bus.handle(ChangePoolCapacity(pool_id, 5), CTX).recorded) == 1


def test_switch_algorithm(bus: CommandBus) -> None:
    assert len(bus.handle(SwitchAlgorithm(Algorithm.MIN_COST), CTX).recorded) == 1
    assert bus.handle(SwitchAlgorithm(Algorithm.MIN_COST), CTX).recorded == ()


def test_a_conflict_is_retried_on_fresh_state(clock: FakeClock) -> None:
    """Another writer moves the pool between load and append: the bus reloads and retries."""

    class InterferingStore(InMemoryEventStore):
        interfered = False

        def append(self, writes, context):  # type: ignore[no-untyped-def]
            if not self.interfered and len(writes) == 2:
                self.interfered = True
                pool_write = next(w for w in writes if w.stream_id.startswith("pool-"))
                other = PoolSlotClaimed(pool_write.stream_id.removeprefix("pool-"), "other")
                super().append(
                    [StreamWrite(pool_write.stream_id, pool_write.expected_version, [other])],
                    context,
                )
            return super().append(writes, context)

    store = InterferingStore(clock)
    bus = CommandBus(Aggregates(store), clock, SequentialIds())
    pool_id = register(bus, capacity=2)
    task_id = submit(bus)
    bus.handle(AssignWorker(task_id, pool_id, decision(task_id, pool_id)), CTX)
    pool_events = [r.event for r in store.read_stream(f"pool-{pool_id}")]
    assert [type(e).__name__ for e in pool_events] == [
        "WorkerPoolRegistered",
        "PoolSlotClaimed",
        "PoolSlotClaimed",
    ]


def test_two_writers_never_overfill_a_pool(clock: FakeClock) -> None:
    """Two buses (two schedulers) with separate caches race for the last slot."""
    store = InMemoryEventStore(clock)
    buses = [CommandBus(Aggregates(store), clock, SequentialIds()) for _ in range(2)]
    pool_id = register(buses[0], capacity=1)
    tasks = [
        buses[0].handle(SubmitTask(TaskType.ORDER, 5, 1.0, "us", task_id=f"t{i}"), CTX).aggregate_id
        for i in range(2)
    ]
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def race(bus: CommandBus, task_id: str) -> None:
        barrier.wait()
        try:
            bus.handle(AssignWorker(task_id, pool_id, decision(task_id, pool_id)), CTX)
            outcomes.append("assigned")
        except (PoolAtCapacity, ConcurrencyConflict):
            outcomes.append("rejected")

    threads = [
        threading.Thread(target=race, args=(b, t)) for b, t in zip(buses, tasks, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["assigned", "rejected"]
    claims = [
        r for r in store.read_stream(f"pool-{pool_id}") if isinstance(r.event, PoolSlotClaimed)
    ]
    assert len(claims) == 1
