"""Checking snapshots in the verification pass: when the pass reaches the event a snapshot
stands at, the snapshot must equal what the log folds to there. A pool's snapshot is held
field by field against the pool's row as the pass folds it (the read models' fold of the
same events), the scheduler configuration's against the last switch, and a task's (rare: a
stream of `SNAPSHOT_EVERY` events) against its stream folded again by the aggregate."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from application.read_models.record import Row
from application.snapshots import folded
from domain.events import DomainEvent
from domain.scheduler_config import SchedulerConfig
from domain.values import Algorithm
from domain.worker_pool import WorkerPool


@dataclass(frozen=True)
class CheckedSnapshot:
    """A stored snapshot as verification reads it."""

    stream_id: str
    version: int
    position: int
    state: Any
    """The aggregate; None if the stored state cannot be read."""
    intact: bool
    """Whether the stored state hashes to the stored digest."""


POOL_FIELDS = (
    ("name", "name"), ("region", "region"), ("resource_type", "resource_type"),
    ("cost_per_unit", "cost_per_unit"), ("capacity", "capacity"), ("load", "current_load"),
    ("execution", "execution"), ("draining", "draining"),
)  # fmt: skip
"""A pool aggregate's fields and the pool row's columns they equal."""


def difference(
    snapshot: CheckedSnapshot,
    pool: Row | None,
    algorithm: Algorithm,
    events: Callable[[], list[DomainEvent]],
) -> str | None:
    """How the snapshot differs from the log folded to its position (None if it does not):
    `pool`, the pool row there; `algorithm`, the algorithm switched to last; `events`, the
    snapshot's stream up to its version."""
    if not snapshot.intact:
        return "its stored state does not hash to its stored digest"
    state = snapshot.state
    if state is None:
        return "its stored state cannot be read"
    if isinstance(state, WorkerPool):
        if pool is None:
            return "the log has no such pool there"
        for field, column in POOL_FIELDS:
            was, folds = getattr(state, field), pool[column]
            if was != (bool(folds) if field == "draining" else folds):
                return f"{field} is {was!r}, the log folds to {folds!r}"
        return None
    if isinstance(state, SchedulerConfig):
        if state.algorithm != algorithm:
            return f"algorithm is {state.algorithm}, the log folds to {algorithm}"
        return None
    fold = folded(snapshot.stream_id, None, events())
    return None if fold == state else "it differs from its stream folded again"
