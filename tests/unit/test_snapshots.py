"""Aggregates load from a stream's newest snapshot and the events after it."""

from dataclasses import replace

from application.aggregates import Aggregates
from application.audit import snapshot_check
from application.audit.snapshot_check import CheckedSnapshot
from application.messages import MessageContext, RecordedEvent, StreamWrite
from application.snapshots import Snapshot, aggregate_of, folded
from domain.events import DomainEvent, PoolCapacityChanged, PoolSlotClaimed
from domain.scheduler_config import SCHEDULER_STREAM, SchedulerConfig
from domain.task import Task
from domain.values import Algorithm, ResourceType, TaskType
from domain.worker_pool import WorkerPool, pool_stream
from tests.builders import pool_registered, task_queued
from tests.fakes import InMemoryEventStore
from tests.unit.test_audit_invariants import T0

CTX = MessageContext("test")
STREAM = pool_stream("p1")


class Reading(InMemoryEventStore):
    """Remembers from which version each stream was read."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[tuple[str, int]] = []

    def read_stream(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
        self.reads.append((stream_id, after_version))
        return super().read_stream(stream_id, after_version)


class FakeSnapshots:
    def __init__(self, *snapshots: Snapshot) -> None:
        self._by_stream = {snapshot.stream_id: snapshot for snapshot in snapshots}

    def latest(self, stream_id: str) -> Snapshot | None:
        return self._by_stream.get(stream_id)


def pool_log() -> tuple[Reading, list[DomainEvent]]:
    store = Reading()
    events: list[DomainEvent] = [
        pool_registered("p1", "p1", "eu-west", ResourceType.CPU, 1.0, 4, T0),
        PoolSlotClaimed("p1", "a"),
        PoolSlotClaimed("p1", "b"),
        PoolCapacityChanged("p1", 4, 8, T0),
        PoolSlotClaimed("p1", "c"),
    ]
    for version, event in enumerate(events):
        store.append([StreamWrite(STREAM, version, [event])], CTX)
    return store, events


def test_a_cold_load_starts_from_the_snapshot_and_reads_only_the_events_after_it() -> None:
    store, events = pool_log()
    at_three = folded(STREAM, None, events[:3])
    marked = replace(at_three, name="from the snapshot")  # no event gives this name
    aggregates = Aggregates(store, snapshots=FakeSnapshots(Snapshot(STREAM, 3, 3, marked)))
    loaded = aggregates.load(STREAM, WorkerPool.start)
    assert store.reads == [(STREAM, 3)]
    assert loaded.version == 5
    assert loaded.state == replace(folded(STREAM, None, events), name="from the snapshot")


def test_without_a_snapshot_the_whole_stream_is_folded() -> None:
    store, events = pool_log()
    loaded = Aggregates(store, snapshots=FakeSnapshots()).load(STREAM, WorkerPool.start)
    assert store.reads == [(STREAM, 0)]
    assert (loaded.version, loaded.state) == (5, folded(STREAM, None, events))


def test_each_kind_of_stream_folds_into_its_aggregate() -> None:
    assert aggregate_of(STREAM) is WorkerPool
    assert aggregate_of("task-t1") is Task
    assert aggregate_of(SCHEDULER_STREAM) is SchedulerConfig
    assert aggregate_of("somewhere-else") is None


def test_a_task_snapshot_is_held_against_its_stream_folded_again() -> None:
    queued = task_queued("t1", TaskType.ORDER, 5, 1.0, "eu-west", None, {}, T0)
    state = folded("task-t1", None, [queued])
    snapshot = CheckedSnapshot("task-t1", 1, 1, state, intact=True)
    assert snapshot_check.difference(snapshot, None, Algorithm.FIFO, lambda: [queued]) is None
    changed = replace(snapshot, state=replace(state, priority=9))
    assert (
        snapshot_check.difference(changed, None, Algorithm.FIFO, lambda: [queued])
        == "it differs from its stream folded again"
    )
