"""Verification's tenant checks on a log the scheduler wrote (fair share between two
tenants, preemptions), then on copies of it altered as a bug or a hand edit would: each
alteration is found, in one pass, in two parts split anywhere, and from a log start."""

from collections.abc import Callable
from dataclasses import replace

import pytest

from application.audit.log_start import LogStart
from application.audit.split import joined, verify_part
from application.audit.verify import AuditReport, verify_log
from application.bus import CommandBus, InlineSender
from application.commands.assign_worker import AssignWorker
from application.commands.finish_task import CompleteTask
from application.commands.submit_task import SubmitTask
from application.commands.tenants import CreateTenant
from application.commit_signal import CommitSignal
from application.messages import MessageContext
from domain.events import DomainEvent, TaskPreempted, TaskQueued, WorkerAssigned
from domain.scheduling import DecisionRecord, PoolSnapshot, TaskSnapshot, decide
from domain.scheduling.tenant_stage import TenantStage, choice
from domain.values import Algorithm, Limits, ResourceType, TaskType
from tests.fakes import InMemoryEventStore
from tests.unit.test_audit_invariants import store_of
from tests.unit.test_preemption import ready_all, scheduler, submit, two_tenants

CTX = MessageContext("req", None, "test")
Events = list[tuple[str, DomainEvent]]


def scheduled(bus: CommandBus, store: InMemoryEventStore, sender: InlineSender,
              signal: CommitSignal) -> Events:  # fmt: skip
    """a fills 4 slots with preemptible tasks; b arrives with 3 and takes 2 by preemption;
    a's tasks finish and both tenants go on."""
    two_tenants(bus)
    policy = scheduler(store, sender, signal)
    for index in range(5):
        submit(bus, f"a{index}", "a", priority=5 - index % 2)
        policy.run_once()
    for index in range(3):
        submit(bus, f"b{index}", "b")
    for _ in range(3):
        policy.run_once()
        ready_all(bus, store)
    for task_id in ("a0", "b0", "a2"):
        bus.handle(CompleteTask(task_id), CTX)
        policy.run_once()
    return [(r.stream_id, r.event) for r in store.read_all(0, 10_000)]


@pytest.fixture
def history(bus, memory_store, sender, signal) -> Events:  # type: ignore[no-untyped-def]
    return scheduled(bus, memory_store, sender, signal)


def altered(events: Events, change: Callable[[DomainEvent], DomainEvent | None]) -> Events:
    """The events with the first one `change` alters (returns an event for) replaced."""
    for index, (stream, event) in enumerate(events):
        if (new := change(event)) is not None:
            return [*events[:index], (stream, new), *events[index + 1 :]]
    raise AssertionError("nothing to alter")


def staged(event: DomainEvent) -> TenantStage | None:
    if isinstance(event, WorkerAssigned) and isinstance(event.decision, DecisionRecord):
        return event.decision.tenants
    return None


def test_the_schedulers_log_verifies_with_every_preemption_chosen_again(history: Events) -> None:
    preempted = [event for _, event in history if isinstance(event, TaskPreempted)]
    assert len(preempted) == 2
    assert sum(1 for _, event in history if staged(event) is not None) >= 3
    report = verify_log(store_of(*history))
    assert report.ok, (report.mismatches, report.violations)
    assert report.preemptions_checked == 2


def test_a_preemption_the_state_it_saw_does_not_explain_is_a_mismatch(history: Events) -> None:
    def forged(event: DomainEvent) -> DomainEvent | None:
        if isinstance(event, TaskPreempted):
            return replace(event, victim_share=0.5)
        return None

    report = verify_log(store_of(*altered(history, forged)))
    (finding,) = report.mismatches
    assert "chooses" in finding.detail
    assert "at shares 0.5 > 0.25" in finding.detail


def test_a_preemption_of_a_task_not_preemptible_is_a_violation(history: Events) -> None:
    victim = next(event.task_id for _, event in history if isinstance(event, TaskPreempted))

    def fixed(event: DomainEvent) -> DomainEvent | None:
        if isinstance(event, TaskQueued) and event.task_id == victim:
            return replace(event, preemptible=False)
        return None

    report = verify_log(store_of(*altered(history, fixed)))
    assert [f.detail for f in report.violations] == [
        f"task {victim} was preempted, but it is not preemptible"
    ]


def test_a_tenant_stage_that_undercounts_its_tenant_is_a_mismatch(history: Events) -> None:
    """The stage stays self-consistent (its choice remade from its figures agrees), so
    only the counts rebuilt from the log can tell."""

    def undercounted(event: DomainEvent) -> DomainEvent | None:
        stage = staged(event)
        if stage is None or stage.running_cpu[stage.names.index(stage.chosen)] == 0:
            return None
        rows = stage.tenants
        states = [
            replace(row.state(), running_cpu=row.running_cpu - (row.name == stage.chosen))
            for row in rows
        ]
        wanting = {row.name: frozenset(row.wanting) for row in rows}
        capacity = {ResourceType.CPU: stage.capacity_cpu, ResourceType.GPU: stage.capacity_gpu}
        _, forged = choice(states, wanting, capacity, {row.name: row.order for row in rows})
        assert forged is not None
        assert forged.chosen == stage.chosen
        assert isinstance(event, WorkerAssigned)
        assert isinstance(event.decision, DecisionRecord)
        return replace(event, decision=replace(event.decision, tenants=forged))

    report = verify_log(store_of(*altered(history, undercounted)))
    (finding,) = report.mismatches
    assert "the tenant stage says" in finding.detail
    assert "the log gives" in finding.detail


def test_a_placement_past_a_tenants_quota_is_a_violation(bus, memory_store) -> None:  # type: ignore[no-untyped-def]
    """Assignments written around the scheduler (which never makes them)."""
    bus.handle(CreateTenant("capped", quota=Limits(cpu=1)), CTX)
    pool_id = two_tenants(bus)
    board = [PoolSnapshot(pool_id, "p", "us", ResourceType.CPU, 1.0, 4, 0, registration=3)]
    for index, task_id in enumerate(("c1", "c2")):
        bus.handle(
            SubmitTask(TaskType.ORDER, 5, 1.0, "us", ResourceType.CPU, task_id=task_id,
                       tenant="capped"),
            CTX,
        )  # fmt: skip
        snapshot = TaskSnapshot(task_id, 5, "us", ResourceType.CPU)
        seen = [replace(pool, load=index) for pool in board]
        bus.handle(AssignWorker(task_id, pool_id, decide(Algorithm.FIFO, snapshot, seen)), CTX)
    report = verify_log(memory_store)
    assert [f.detail for f in report.violations] == [
        "tenant capped placed past its quota plus borrowing: 2 cpu tasks running, at most 1"
    ]


def findings(report: AuditReport) -> tuple[object, ...]:
    return (
        report.events_checked, report.decisions_checked, report.preemptions_checked,
        report.mismatches, report.violations,
    )  # fmt: skip


def forged_log(history: Events) -> InMemoryEventStore:
    """The scheduler's log with its last preemption forged."""
    last = [event for _, event in history if isinstance(event, TaskPreempted)][-1]

    def forged(event: DomainEvent) -> DomainEvent | None:
        return replace(event, rule="forged") if event == last else None

    return store_of(*altered(history, forged))


def test_any_split_finds_what_one_pass_finds(history: Events) -> None:
    store = forged_log(history)
    whole = verify_log(store)
    assert whole.mismatch_count == 1
    assert whole.preemptions_checked == 2
    for split in range(1, store.head()):
        parts = joined(verify_part(store, 0, split), verify_part(store, split, store.head()))
        assert findings(parts) == findings(whole), f"split at {split}"


def test_a_log_start_carries_the_tenants_to_the_hot_log(history: Events) -> None:
    store = forged_log(history)
    whole = verify_log(store)
    events = store.read_checked(0, 10_000)
    for cut in range(1, store.head()):
        start = LogStart().advanced(events[:cut], events[cut - 1].hash, floor=0)
        hot = verify_log(store, start=start.start())
        after = [f for f in whole.mismatches + whole.violations if f.position > cut]
        assert hot.mismatches + hot.violations == after, f"cut at {cut}"
        assert hot.preemptions_checked == sum(1 for r in events[cut:] if r.type == "TaskPreempted")


def test_a_tenant_stage_that_chose_another_tenant_than_the_tasks_is_a_mismatch(
    history: Events,
) -> None:
    def moved(event: DomainEvent) -> DomainEvent | None:
        stage = staged(event)
        if stage is None or stage.chosen != "b":
            return None
        assert isinstance(event, WorkerAssigned)
        assert isinstance(event.decision, DecisionRecord)
        return replace(event, decision=replace(event.decision, tenants=replace(stage, chosen="a")))

    report = verify_log(store_of(*altered(history, moved)))
    details = [f.detail for f in report.mismatches]
    assert "the tenant stage chose a, the task is b's" in details


def test_a_log_start_saved_before_tenants_were_kept_skips_their_checks(history: Events) -> None:
    """Its tenants and running slots are unknown: the checks that need them are counted as
    skipped, never reported as findings it cannot make."""
    store = store_of(*history)
    events = store.read_checked(0, 10_000)
    cut = 8
    start = replace(LogStart().advanced(events[:cut], events[cut - 1].hash, floor=0), tenants=None)
    hot = verify_log(store, start=start.start())
    assert hot.ok, (hot.mismatches, hot.violations)
    placements = sum(1 for r in events[cut:] if r.type == "WorkerAssigned")
    preemptions = sum(1 for r in events[cut:] if r.type == "TaskPreempted")
    assert hot.preemptions_checked == 0
    assert hot.tenant_checks_skipped >= preemptions + 1
    assert hot.tenant_checks_skipped <= placements + preemptions
