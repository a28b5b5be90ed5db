"""A log verified in two parts gives the findings of one pass from position 0, wherever
it is split: the second part's assumptions about tasks it did not see begin are checked
against the first part's statuses, and its pools are folded from the events before it."""

from dataclasses import replace

import pytest

from application.audit.split import joined, verify_part
from application.audit.verify import AuditReport, verify_log
from domain.events import (
    DomainEvent,
    PoolCapacityChanged,
    PoolSlotClaimed,
    PoolSlotReleased,
    TaskCompleted,
)
from tests.fakes import InMemoryEventStore
from tests.unit.test_audit_invariants import T0, assigned, queued, registered, store_of


def in_two(store: InMemoryEventStore, split: int) -> AuditReport:
    head = store.head()
    return joined(verify_part(store, 0, split), verify_part(store, split, head))


def findings(report: AuditReport) -> tuple[object, ...]:
    chain = report.chain
    assert chain is not None
    return (
        report.events_checked, report.decisions_checked, report.mismatch_count,
        report.violation_count, report.mismatches, report.violations,
        (chain.checked, chain.head_hash, chain.first_broken),
    )  # fmt: skip


def lives() -> list[tuple[str, DomainEvent]]:
    """Two tasks and a pool, with a violation on each side of any split: a task completed
    twice, a pool over capacity, a forged decision."""
    done = TaskCompleted("t1", "p1", T0, T0)
    stream, event = assigned("t2")
    forged = replace(event, decision=replace(event.decision, summary="chose elsewhere"))
    return [
        registered(1),
        queued("t1"),
        assigned("t1"),
        ("pool-p1", PoolSlotClaimed("p1", "t1")),
        ("task-t1", done),
        ("pool-p1", PoolSlotReleased("p1", "t1", "completed")),
        queued("t2"),
        ("pool-p1", PoolSlotClaimed("p1", "a")),
        ("pool-p1", PoolSlotClaimed("p1", "b")),
        (stream, forged),
        ("task-t1", done),
        ("pool-p1", PoolCapacityChanged("p1", 1, 3, T0)),
        assigned("t2"),
        ("pool-p1", PoolSlotReleased("p1", "a", "completed")),
        ("pool-p1", PoolSlotReleased("p1", "b", "completed")),
        ("pool-p1", PoolSlotReleased("p1", "b", "completed")),
        ("task-t3", done),
    ]


def test_the_log_has_findings_of_every_kind() -> None:
    report = verify_log(store_of(*lives()))
    assert (report.mismatch_count, report.violation_count) == (1, 5)


@pytest.mark.parametrize("split", range(1, len(lives())))
def test_any_split_finds_what_one_pass_finds(split: int) -> None:
    store = store_of(*lives())
    assert findings(in_two(store, split)) == findings(verify_log(store))
