"""Simulated workers complete or fail assigned tasks after a drawn latency."""

import pytest

from application.bus import CommandBus, InlineSender
from application.commands.assign_worker import AssignWorker
from application.commands.finish_task import CompleteTask, FailTask
from application.commands.register_worker_pool import RegisterWorkerPool
from application.commands.submit_task import SubmitTask
from application.commands.task_lifecycle import CancelTask, MarkTaskReady
from application.commit_signal import CommitSignal
from application.errors import StoreUnavailable
from application.messages import MessageContext
from application.simulation.workers import SimulatedWorkers, SimulationSettings
from domain.events import TaskCompleted, TaskFailed
from domain.scheduling import Decision, TaskSnapshot
from domain.values import Algorithm, Execution, ResourceType, TaskType
from tests.fakes import EmptyStateSource, FailingWrites, InMemoryEventStore

CTX = MessageContext("req", None, "test")


class Monotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def assign(bus: CommandBus, count: int) -> None:
    pool_id = bus.handle(
        RegisterWorkerPool("a", "us", ResourceType.CPU, 1.0, count), CTX
    ).aggregate_id
    assert pool_id is not None
    for index in range(count):
        task_id = f"t{index}"
        bus.handle(SubmitTask(TaskType.QUERY, 5, 1.0, "us", task_id=task_id), CTX)
        decision = Decision(
            Algorithm.FIFO, 1, TaskSnapshot(task_id, 5, "us", None), (), (), (), pool_id, "s"
        )
        bus.handle(AssignWorker(task_id, pool_id, decision), CTX)


def workers(
    store: InMemoryEventStore,
    sender: InlineSender,
    signal: CommitSignal,
    clock: Monotonic,
    **settings: float,
) -> SimulatedWorkers:
    simulated = SimulatedWorkers(
        store,
        sender,
        EmptyStateSource(),
        signal,
        SimulationSettings(**settings),
        clock,  # type: ignore[arg-type]
    )
    simulated.restore()
    return simulated


def outcomes(store: InMemoryEventStore) -> list[str]:
    return [
        type(r.event).__name__
        for r in store.read_all(0, 10_000)
        if isinstance(r.event, TaskCompleted | TaskFailed)
    ]


def test_tasks_finish_only_after_their_latency(bus, sender, memory_store, signal) -> None:  # type: ignore[no-untyped-def]
    clock = Monotonic()
    simulated = workers(
        memory_store,
        sender,
        signal,
        clock,
        min_latency_s=0.5,
        max_latency_s=1.0,
        failure_rate=0.0,
        seed=1,
    )
    assign(bus, 5)
    deadline = simulated.run_once()
    assert deadline is not None
    assert 0.5 <= deadline <= 1.0
    assert outcomes(memory_store) == []
    clock.now += 0.49
    simulated.run_once()
    assert outcomes(memory_store) == []
    clock.now += 0.52
    assert simulated.run_once() is None
    assert outcomes(memory_store) == ["TaskCompleted"] * 5
    assert simulated.completed == 5


def test_failure_rate_one_fails_every_task(bus, sender, memory_store, signal) -> None:  # type: ignore[no-untyped-def]
    clock = Monotonic()
    simulated = workers(
        memory_store,
        sender,
        signal,
        clock,
        min_latency_s=0.0,
        max_latency_s=0.0,
        failure_rate=1.0,
        seed=1,
    )
    assign(bus, 3)
    simulated.run_once()
    assert outcomes(memory_store) == ["TaskFailed"] * 3


def test_same_seed_same_outcomes(clock) -> None:  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(2):
        signal = CommitSignal()
        store = InMemoryEventStore(clock, signal)
        from application.aggregates import Aggregates
        from tests.fakes import SequentialIds

        bus = CommandBus(Aggregates(store), clock, SequentialIds())
        monotonic = Monotonic()
        simulated = workers(
            store,
            InlineSender(bus),
            signal,
            monotonic,
            min_latency_s=0.0,
            max_latency_s=0.0,
            failure_rate=0.3,
            seed=42,
        )
        assign(bus, 40)
        simulated.run_once()
        runs.append(outcomes(store))
    assert runs[0] == runs[1]
    assert 0 < runs[0].count("TaskFailed") < 40


def test_a_task_finished_by_hand_is_skipped(bus, sender, memory_store, signal) -> None:  # type: ignore[no-untyped-def]
    from application.commands.finish_task import CompleteTask

    clock = Monotonic()
    simulated = workers(
        memory_store,
        sender,
        signal,
        clock,
        min_latency_s=1.0,
        max_latency_s=1.0,
        failure_rate=0.0,
        seed=1,
    )
    assign(bus, 1)
    simulated.run_once()
    bus.handle(CompleteTask("t0"), CTX)
    clock.now += 2
    simulated.run_once()
    assert outcomes(memory_store) == ["TaskCompleted"]
    assert simulated.completed == 0


def test_a_finish_that_fails_to_write_is_put_back_and_retried(
    bus, sender, memory_store, signal
) -> None:  # type: ignore[no-untyped-def]
    """A busy database must not lose the task: the round fails (for the reactor to back
    off and show the error), the report stays due, and the next round sends it."""
    clock = Monotonic()
    flaky = FailingWrites(sender)
    simulated = workers(
        memory_store, flaky, signal, clock, min_latency_s=0.1, max_latency_s=0.1,  # type: ignore[arg-type]
        failure_rate=0.0, seed=1,
    )  # fmt: skip
    assign(bus, 2)
    simulated.run_once()
    clock.now += 0.2
    flaky.failures = 3
    with pytest.raises(StoreUnavailable):
        simulated.run_once()
    assert [type(command) for command in flaky.refused] == [CompleteTask, CompleteTask]
    assert outcomes(memory_store) == []
    assert simulated.in_flight == 2
    with pytest.raises(StoreUnavailable):
        simulated.run_once()
    assert outcomes(memory_store) == ["TaskCompleted"], "one went through, one failed again"
    assert simulated.run_once() is None
    assert outcomes(memory_store) == ["TaskCompleted", "TaskCompleted"]
    assert simulated.in_flight == 0


def test_tasks_of_an_external_pool_are_left_to_its_workers(
    bus, sender, memory_store, signal
) -> None:  # type: ignore[no-untyped-def]
    clock = Monotonic()
    simulated = workers(memory_store, sender, signal, clock, min_latency_s=0.0,
                        max_latency_s=0.0, failure_rate=0.0, seed=1)  # fmt: skip
    pool_id = bus.handle(
        RegisterWorkerPool("x", "us", ResourceType.CPU, 1.0, 2, Execution.EXTERNAL), CTX
    ).aggregate_id
    bus.handle(SubmitTask(TaskType.QUERY, 5, 1.0, "us", task_id="ext"), CTX)
    decision = Decision(
        Algorithm.FIFO, 1, TaskSnapshot("ext", 5, "us", None), (), (), (), pool_id, "s"
    )
    bus.handle(AssignWorker("ext", pool_id, decision), CTX)
    assert simulated.run_once() is None
    assert (outcomes(memory_store), simulated.in_flight) == ([], 0)


def test_an_attempt_that_ended_elsewhere_never_reports_and_a_retry_runs_anew(  # type: ignore[no-untyped-def]
    bus, sender, memory_store, signal, clock
) -> None:
    ticks = Monotonic()
    simulated = workers(memory_store, sender, signal, ticks, min_latency_s=1.0,
                        max_latency_s=1.0, failure_rate=0.0, seed=1)  # fmt: skip
    assign(bus, 2)
    simulated.run_once()
    bus.handle(CancelTask("t0"), CTX)  # nobody holds a simulated task: cancelled at once
    bus.handle(FailTask("t1", "timeout: still running after 0.5 s"), CTX)
    clock.advance(1.0)  # past the retry backoff
    bus.handle(MarkTaskReady("t1"), CTX)
    pool_id = memory_store.read_stream("task-t1")[1].event.pool_id  # type: ignore[attr-defined]
    decision = Decision(
        Algorithm.FIFO, 1, TaskSnapshot("t1", 5, "us", None), (), (), (), pool_id, "s"
    )
    bus.handle(AssignWorker("t1", pool_id, decision), CTX)
    ticks.now += 0.5
    simulated.run_once()
    assert simulated.in_flight == 1, "t0's timer is void; t1 has one timer, its second"
    ticks.now += 0.6  # the first attempts' timers would be due now, the second's is not
    simulated.run_once()
    assert outcomes(memory_store) == ["TaskFailed"]
    ticks.now += 0.5
    simulated.run_once()
    assert outcomes(memory_store) == ["TaskFailed", "TaskCompleted"]


def test_a_report_sent_as_its_attempt_ended_elsewhere_cannot_finish_the_next_one(  # type: ignore[no-untyped-def]
    bus, sender, memory_store, signal, clock
) -> None:
    ticks = Monotonic()
    simulated = workers(memory_store, sender, signal, ticks, min_latency_s=1.0,
                        max_latency_s=1.0, failure_rate=0.0, seed=1)  # fmt: skip
    assign(bus, 1)
    simulated.run_once()  # a timer for attempt 1 of t0
    pool_id = memory_store.read_stream("task-t0")[1].event.pool_id  # type: ignore[attr-defined]
    bus.handle(FailTask("t0", "timeout: still running after 0.5 s"), CTX)
    clock.advance(1.0)
    bus.handle(MarkTaskReady("t0"), CTX)
    decision = Decision(
        Algorithm.FIFO, 1, TaskSnapshot("t0", 5, "us", None), (), (), (), pool_id, "s"
    )
    bus.handle(AssignWorker("t0", pool_id, decision), CTX)  # attempt 2, not yet seen
    ticks.now += 1.0
    simulated.act()  # the attempt-1 timer fires before the simulator reads the log
    assert outcomes(memory_store) == ["TaskFailed"], "attempt 2 was not completed by attempt 1"
    simulated.run_once()
    ticks.now += 1.0
    simulated.run_once()
    assert outcomes(memory_store) == ["TaskFailed", "TaskCompleted"]
