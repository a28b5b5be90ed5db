"""The timekeeper on a fake clock: one heap of due times, folded from the log, firing the
command each due time calls for and nothing before it."""

from datetime import datetime, timedelta

import pytest

from application.bus import CommandBus, InlineSender
from application.commands.assign_worker import AssignWorker
from application.commands.leases import Heartbeat, LeaseTask
from application.commands.register_worker_pool import RegisterWorkerPool
from application.commands.submit_task import SubmitTask
from application.commit_signal import CommitSignal
from application.errors import StoreUnavailable
from application.lifecycle.due_times import Kind
from application.lifecycle.timekeeper import Timekeeper
from application.messages import MessageContext
from domain.retry import RetryPolicy
from domain.scheduling import Decision, TaskSnapshot
from domain.task import task_stream
from domain.values import Algorithm, Execution, ResourceType, TaskType
from tests.fakes import EmptyStateSource, FailingWrites, FakeClock, InMemoryEventStore

CTX = MessageContext("req-7", None, "test")


@pytest.fixture
def timekeeper(
    memory_store: InMemoryEventStore, bus: CommandBus, signal: CommitSignal, clock: FakeClock
) -> Timekeeper:
    keeper = Timekeeper(memory_store, InlineSender(bus), EmptyStateSource(), signal, clock)
    keeper.restore()
    return keeper


def types_of(store: InMemoryEventStore, task_id: str) -> list[str]:
    return [recorded.type for recorded in store.read_stream(task_stream(task_id))]


def submit(bus: CommandBus, **options: object) -> str:
    task_id = bus.handle(SubmitTask(TaskType.QUERY, 5, 1.0, "us", **options), CTX).aggregate_id  # type: ignore[arg-type]
    assert task_id is not None
    return task_id


def running(bus: CommandBus, execution: Execution, **options: object) -> str:
    command = RegisterWorkerPool(f"pool-{execution}", "us", ResourceType.CPU, 1.0, 4, execution)
    pool_id = bus.handle(command, CTX).aggregate_id
    assert pool_id is not None
    task_id = submit(bus, **options)
    decision = Decision(
        Algorithm.FIFO, 1, TaskSnapshot(task_id, 5, "us", None), (), (), (), pool_id, "chosen"
    )
    bus.handle(AssignWorker(task_id, pool_id, decision), CTX)
    if execution is Execution.EXTERNAL:
        bus.handle(LeaseTask(task_id, pool_id, "w-1", 30.0), CTX)
    return task_id


def test_a_delayed_task_is_made_ready_when_its_time_comes_and_not_before(
    timekeeper: Timekeeper, bus: CommandBus, memory_store: InMemoryEventStore, clock: FakeClock
) -> None:
    task_id = submit(bus, not_before=clock.now() + timedelta(seconds=10))
    assert timekeeper.run_once() == pytest.approx(10.0)
    clock.advance(9.9)
    timekeeper.run_once()
    assert types_of(memory_store, task_id) == ["TaskQueued"]
    clock.advance(0.1)
    assert timekeeper.run_once() is None, "nothing else is due"
    assert types_of(memory_store, task_id) == ["TaskQueued", "TaskReady"]
    ready = memory_store.read_stream(task_stream(task_id))[-1]
    assert (ready.metadata.actor, ready.metadata.correlation_id) == ("timekeeper", "req-7")


def test_an_unkept_lease_expires_and_the_retry_waits_out_its_backoff(
    timekeeper: Timekeeper, bus: CommandBus, memory_store: InMemoryEventStore, clock: FakeClock
) -> None:
    task_id = running(bus, Execution.EXTERNAL, retry=RetryPolicy(3, 2.0))
    assert timekeeper.run_once() == pytest.approx(30.0)
    clock.advance(30)
    timekeeper.run_once()
    assert types_of(memory_store, task_id)[-2:] == ["TaskLeased", "TaskLeaseExpired"]
    timekeeper.catch_up()
    due = timekeeper.due.get(task_id, Kind.READY)
    assert due is not None
    assert due.at == clock.now() + timedelta(seconds=1.5)
    clock.advance(1.5)
    timekeeper.run_once()
    assert types_of(memory_store, task_id)[-1] == "TaskReady"


def test_a_heartbeat_moves_the_lease_due_time(
    timekeeper: Timekeeper, bus: CommandBus, memory_store: InMemoryEventStore, clock: FakeClock
) -> None:
    task_id = running(bus, Execution.EXTERNAL)
    (leased,) = memory_store.read_stream(task_stream(task_id))[-1:]
    timekeeper.run_once()
    clock.advance(20)
    bus.handle(Heartbeat(task_id, leased.event.lease_token, 30.0), CTX)  # type: ignore[attr-defined]
    clock.advance(15)  # past the first deadline, inside the extended one
    assert timekeeper.run_once() == pytest.approx(15.0)
    assert types_of(memory_store, task_id)[-1] == "TaskLeaseExtended"


def test_a_running_attempt_times_out_and_a_finished_one_is_forgotten(
    timekeeper: Timekeeper, bus: CommandBus, memory_store: InMemoryEventStore, clock: FakeClock
) -> None:
    slow = running(bus, Execution.SIMULATED, timeout_s=5.0)
    timekeeper.run_once()
    assert timekeeper.due.get(slow, Kind.TIMEOUT) is not None
    clock.advance(5)
    timekeeper.run_once()
    failed = memory_store.read_stream(task_stream(slow))[-1]
    assert failed.type == "TaskFailed"
    assert failed.event.reason == "timeout: still running after 5 s"  # type: ignore[attr-defined]
    timekeeper.catch_up()
    assert timekeeper.due.get(slow, Kind.TIMEOUT) is None
    assert timekeeper.due.get(slow, Kind.READY) is not None, "the retry waits its backoff"


class SteppingBack:
    """A wall clock that NTP steps back by a minute right after the timekeeper read it."""

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock
        self.stepped = False

    def now(self) -> datetime:
        moment = self._clock.now()
        if not self.stepped:
            self.stepped = True
            self._clock.advance(-60)
        return moment


def test_a_due_time_refused_as_early_after_the_clock_stepped_back_waits_again(
    memory_store: InMemoryEventStore, bus: CommandBus, signal: CommitSignal, clock: FakeClock
) -> None:
    task_id = submit(bus, not_before=clock.now() + timedelta(seconds=10))
    stepping = SteppingBack(clock)
    keeper = Timekeeper(memory_store, InlineSender(bus), EmptyStateSource(), signal, stepping)
    keeper.restore()
    keeper.catch_up()
    clock.advance(10)
    keeper.run_once()  # fires at +10 s by its reading; the command then sees -50 s
    assert types_of(memory_store, task_id) == ["TaskQueued"]
    assert keeper.due.get(task_id, Kind.READY) is not None, "re-armed, not lost"
    assert keeper.outlook[0] == 1
    clock.advance(60)
    keeper.run_once()
    assert types_of(memory_store, task_id) == ["TaskQueued", "TaskReady"]
    assert keeper.outlook == (0, None)


def test_a_due_time_whose_command_fails_to_write_stays_due_until_it_is_written(
    bus: CommandBus,
    memory_store: InMemoryEventStore,
    signal: CommitSignal,
    clock: FakeClock,
) -> None:
    flaky = FailingWrites(InlineSender(bus))
    keeper = Timekeeper(memory_store, flaky, EmptyStateSource(), signal, clock)
    keeper.restore()
    task_id = submit(bus, not_before=clock.now() + timedelta(seconds=1))
    keeper.run_once()
    clock.advance(1)
    flaky.failures = 2
    for _ in range(2):
        with pytest.raises(StoreUnavailable):
            keeper.run_once()
        assert types_of(memory_store, task_id) == ["TaskQueued"]
        assert keeper.outlook[0] == 1, "the due time is held, not dropped"
    assert keeper.run_once() is None
    assert types_of(memory_store, task_id) == ["TaskQueued", "TaskReady"]
    assert keeper.fired == 1
