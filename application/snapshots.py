"""Snapshots of long-lived aggregates: a stream's aggregate as its events up to a version
fold it, so loading it reads the snapshot and only the events after it.

Pools gain two events a task for as long as they live and the scheduler configuration lives
as long as the service, so a stream is snapshotted every `every` events (the
`SNAPSHOT_EVERY` setting): the snapshot is written in the transaction that records its
stream's `every`-th event, folded from the stream's previous snapshot and the events
since. A snapshot is only ever a shortcut: verification checks each one against the fold of
its stream's events."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from domain.events import DomainEvent
from domain.scheduler_config import SCHEDULER_STREAM, SchedulerConfig
from domain.task import Task
from domain.tenant import Tenant
from domain.worker_pool import WorkerPool

Start = Callable[[DomainEvent], Any]

Aggregate = type[Task] | type[WorkerPool] | type[SchedulerConfig] | type[Tenant]

AGGREGATES: dict[str, Aggregate] = {
    "task-": Task,
    "pool-": WorkerPool,
    SCHEDULER_STREAM: SchedulerConfig,
    "tenant-": Tenant,
}
"""The aggregate each kind of stream folds into, by the stream id's prefix."""


def aggregate_of(stream_id: str) -> Aggregate | None:
    """The aggregate a stream folds into (None for a stream of no aggregate)."""
    for prefix, aggregate in AGGREGATES.items():
        if stream_id.startswith(prefix):
            return aggregate
    return None


@dataclass(frozen=True)
class Snapshot:
    stream_id: str
    version: int
    """The stream version the state reflects: its events 1..version folded."""
    position: int
    """The log position of the event at `version`."""
    state: Any
    """The aggregate."""


def folded(stream_id: str, state: Any, events: list[DomainEvent]) -> Any:
    """The aggregate of `stream_id` from `state` (None: an empty stream) and then `events`."""
    aggregate = aggregate_of(stream_id)
    if aggregate is None:
        raise ValueError(f"{stream_id} is not the stream of an aggregate")
    for event in events:
        state = aggregate.start(event) if state is None else state.when(event)
    return state


class Snapshots(Protocol):
    def latest(self, stream_id: str) -> Snapshot | None:
        """The stream's newest snapshot (None if it has none)."""
        ...
