"""The invariant fold and decision recomputation of `verify_log`, on logs written straight
into the in-memory store (bypassing the aggregates, as a bug or a hand edit would)."""

from dataclasses import replace
from datetime import UTC, datetime

from application.audit.verify import AuditReport, verify_log
from application.messages import MessageContext, StreamWrite
from domain.events import (
    DomainEvent,
    PoolCapacityChanged,
    PoolSlotClaimed,
    PoolSlotReleased,
    TaskCompleted,
    TaskQueued,
    WorkerAssigned,
    WorkerPoolRegistered,
)
from domain.scheduling import TaskSnapshot, decide
from domain.values import Algorithm, ResourceType, TaskType
from tests.builders import pool_registered, task_queued
from tests.fakes import InMemoryEventStore
from tests.unit.test_algorithms import demo_pools

T0 = datetime(2026, 3, 1, tzinfo=UTC)
CTX = MessageContext("test")


def store_of(*events: tuple[str, DomainEvent]) -> InMemoryEventStore:
    store = InMemoryEventStore()
    versions: dict[str, int] = {}
    for stream, event in events:
        store.append([StreamWrite(stream, versions.get(stream, 0), [event])], CTX)
        versions[stream] = versions.get(stream, 0) + 1
    return store


def audit(*events: tuple[str, DomainEvent]) -> AuditReport:
    return verify_log(store_of(*events))


def queued(task_id: str = "t1") -> tuple[str, TaskQueued]:
    event = task_queued(task_id, TaskType.ORDER, 5, 1.0, "eu-west", ResourceType.CPU, {}, T0)
    return f"task-{task_id}", event


def assigned(task_id: str = "t1") -> tuple[str, WorkerAssigned]:
    decision = decide(
        Algorithm.FIFO, TaskSnapshot(task_id, 5, "eu-west", ResourceType.CPU), demo_pools()
    )
    assert decision.chosen is not None
    event = WorkerAssigned(task_id, decision.chosen.pool_id, decision.chosen.name, decision, T0)
    return f"task-{task_id}", event


def registered(capacity: int) -> tuple[str, WorkerPoolRegistered]:
    event = pool_registered("p1", "p1", "eu-west", ResourceType.CPU, 1.0, capacity, T0)
    return "pool-p1", event


def test_a_valid_life_has_no_findings() -> None:
    completed = TaskCompleted("t1", "p1", T0, T0)
    report = audit(
        registered(1),
        queued(),
        assigned(),
        ("pool-p1", PoolSlotClaimed("p1", "t1")),
        ("task-t1", completed),
        ("pool-p1", PoolSlotReleased("p1", "t1", "completed")),
    )
    assert report.ok
    assert (report.events_checked, report.decisions_checked) == (6, 1)


def test_a_task_assigned_twice_for_one_attempt_is_a_violation() -> None:
    report = audit(queued(), assigned(), assigned())
    assert report.violation_count == 1
    (finding,) = report.violations
    assert (finding.position, finding.stream_id) == (3, "task-t1")
    assert finding.detail == "assigned again while processing"


def test_no_transition_leaves_a_terminal_state() -> None:
    done = TaskCompleted("t1", "p1", T0, T0)
    report = audit(queued(), assigned(), ("task-t1", done), ("task-t1", done))
    assert [v.detail for v in report.violations] == ["TaskCompleted after the task was completed"]


def test_a_pool_above_capacity_or_below_zero_is_a_violation() -> None:
    report = audit(
        registered(1),
        ("pool-p1", PoolSlotClaimed("p1", "a")),
        ("pool-p1", PoolSlotClaimed("p1", "b")),
        ("pool-p1", PoolCapacityChanged("p1", 1, 3, T0)),
        ("pool-p1", PoolSlotReleased("p1", "a", "completed")),
        ("pool-p1", PoolSlotReleased("p1", "b", "completed")),
        ("pool-p1", PoolSlotReleased("p1", "b", "completed")),
    )
    assert [(v.position, v.detail) for v in report.violations] == [
        (3, "pool load 2 above capacity 1"),
        (7, "pool load -1 below zero"),
    ]


def test_a_recorded_decision_that_does_not_recompute_is_a_mismatch() -> None:
    stream, event = assigned()
    forged = replace(event.decision, summary="fifo v1 chose somewhere else")
    report = audit(queued(), (stream, replace(event, decision=forged)))
    assert report.mismatch_count == 1
    assert report.mismatches[0].detail.startswith("summary recorded 'fifo v1 chose somewhere")


def test_an_assignment_to_another_pool_than_the_decision_chose_is_a_mismatch() -> None:
    stream, event = assigned()
    report = audit(queued(), (stream, replace(event, pool_id="elsewhere")))
    assert report.mismatches[0].detail.startswith("assigned to elsewhere but the decision chose")
