"""Task and WorkerPool invariants, and that history folds without re-checking rules."""

from datetime import UTC, datetime

import pytest

from domain.errors import (
    CapacityBelowLoad,
    DecisionMismatch,
    InvalidValue,
    PoolAtCapacity,
    ResourceMismatch,
    TaskAlreadyDeferred,
    TaskFinished,
    TaskNotInPool,
    TaskNotProcessing,
    TaskNotQueued,
)
from domain.scheduler_config import SchedulerConfig
from domain.scheduling import Decision, TaskSnapshot
from domain.task import Task
from domain.values import Algorithm, ResourceType, TaskStatus, TaskType
from domain.worker_pool import WorkerPool

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SEEN = TaskSnapshot("t", 5, "us", None)
DECISION = Decision(Algorithm.FIFO, 1, SEEN, (), (), (), "p", "chose p")
DEFERRAL = Decision(Algorithm.FIFO, 1, SEEN, (), (), (), None, "0/0 pools available")


def new_task(resource_type: ResourceType | None = None) -> Task:
    return Task.start(Task.submit("t", TaskType.ORDER, 5, 1.0, "us", resource_type, {}, NOW))


def new_pool(capacity: int = 1, kind: ResourceType = ResourceType.CPU) -> WorkerPool:
    return WorkerPool.start(WorkerPool.register("p", "pool", "us", kind, 0.5, capacity, NOW))


def processing_task() -> Task:
    task = new_task()
    return task.when(task.assign(new_pool(), DECISION, NOW))


@pytest.mark.parametrize(
    ("priority", "cost", "region"),
    [
        (0, 1.0, "us"),
        (11, 1.0, "us"),
        (5, 0.0, "us"),
        (5, -1.0, "us"),
        (5, float("nan"), "us"),
        (5, float("inf"), "us"),
        (5, 1.0, "  "),
    ],
)
def test_submit_rejects_out_of_range_values(priority: int, cost: float, region: str) -> None:
    with pytest.raises(InvalidValue):
        Task.submit("t", TaskType.ORDER, priority, cost, region, None, {}, NOW)


def test_lifecycle_queued_processing_completed() -> None:
    task = new_task()
    assert task.status is TaskStatus.QUEUED
    task = task.when(task.assign(new_pool(), DECISION, NOW))
    assert (task.status, task.pool_id) == (TaskStatus.PROCESSING, "p")
    completed = task.complete(NOW)
    assert completed.enqueued_at == NOW
    assert task.when(completed).status is TaskStatus.COMPLETED


def test_only_an_unfinished_task_can_be_cancelled() -> None:
    completed = processing_task()
    completed = completed.when(completed.complete(NOW))
    with pytest.raises(TaskFinished, match="only an unfinished task can be cancelled"):
        completed.cancel("no", NOW)
    (cancelled,) = new_task().cancel("no", NOW)
    assert new_task().when(cancelled).status is TaskStatus.CANCELLED


def test_only_a_processing_task_can_complete_or_fail() -> None:
    with pytest.raises(TaskNotProcessing, match="only a processing task can be completed"):
        new_task().complete(NOW)
    with pytest.raises(TaskNotProcessing, match="only a processing task can be failed"):
        new_task().fail("x", NOW, 0.5)
    finished = processing_task()
    for event in finished.fail("boom", NOW, 0.5):
        finished = finished.when(event)
    assert finished.status is TaskStatus.DELAYED, "a first failure is retried"
    with pytest.raises(TaskNotProcessing):
        finished.complete(NOW)


def test_a_processing_task_cannot_be_assigned_again() -> None:
    with pytest.raises(TaskNotQueued):
        processing_task().assign(new_pool(), DECISION, NOW)


def test_resource_requirement_is_enforced_on_assignment() -> None:
    with pytest.raises(ResourceMismatch):
        new_task(ResourceType.GPU).assign(new_pool(kind=ResourceType.CPU), DECISION, NOW)


def test_deferred_once_per_wait() -> None:
    task = new_task()
    task = task.when(task.defer(DEFERRAL, NOW))
    with pytest.raises(TaskAlreadyDeferred):
        task.defer(DEFERRAL, NOW)


def test_an_assignment_must_be_what_its_decision_chose() -> None:
    with pytest.raises(DecisionMismatch, match="chose no pool, not p"):
        new_task().assign(new_pool(), DEFERRAL, NOW)
    with pytest.raises(DecisionMismatch, match="chose p, not no pool"):
        new_task().defer(DECISION, NOW)
    about_another = Decision(Algorithm.FIFO, 1, TaskSnapshot("t", 9, "us", None), (), (), (),
                             "p", "s")  # fmt: skip
    with pytest.raises(DecisionMismatch, match="about another task"):
        new_task().assign(new_pool(), about_another, NOW)


def test_a_full_pool_cannot_take_a_task() -> None:
    pool = new_pool(capacity=1)
    pool = pool.when(pool.claim("t1"))
    assert pool.load == 1
    with pytest.raises(PoolAtCapacity, match="at capacity"):
        pool.claim("t2")


def test_load_never_below_zero() -> None:
    with pytest.raises(TaskNotInPool):
        new_pool().release("t1", "completed")


def test_capacity_cannot_drop_below_load() -> None:
    pool = new_pool(capacity=3)
    pool = pool.when(pool.claim("a")).when(pool.claim("b"))
    with pytest.raises(CapacityBelowLoad):
        pool.change_capacity(1, NOW)
    assert pool.when(pool.change_capacity(2, NOW)).capacity == 2
    with pytest.raises(InvalidValue):
        pool.change_capacity(-1, NOW)


def test_pool_registration_validates() -> None:
    with pytest.raises(InvalidValue):
        WorkerPool.register("p", "", "us", ResourceType.CPU, 1.0, 1, NOW)
    with pytest.raises(InvalidValue):
        WorkerPool.register("p", "n", "us", ResourceType.CPU, -1.0, 1, NOW)
    with pytest.raises(InvalidValue):
        WorkerPool.register("p", "n", "us", ResourceType.CPU, 1.0, -1, NOW)


def test_history_replays_even_past_a_rule() -> None:
    """Folding never re-checks invariants: a stored over-capacity claim still replays."""
    pool = new_pool(capacity=1)
    claim = pool.claim("a")
    replayed = pool.when(claim).when(claim)
    assert replayed.load == 2


def test_switching_to_the_active_algorithm_records_nothing() -> None:
    config = SchedulerConfig()
    assert config.switch(Algorithm.FIFO, NOW) == []
    (switched,) = config.switch(Algorithm.PRIORITY, NOW)
    assert config.when(switched).algorithm is Algorithm.PRIORITY
