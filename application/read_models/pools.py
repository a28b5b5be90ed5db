"""The pool row: one per worker pool, its configuration and current load.

`start` makes the row from WorkerPoolRegistered; `CHANGES` gives the columns any later
event changes: set, or added to (`Add`: the load, which moves with every slot)."""

from collections.abc import Callable, Iterable
from typing import Any

from application.read_models.record import Add, Recorded, Row, changing, fold_stream, resolved
from domain.scheduling import PoolSnapshot
from domain.values import ResourceType

Change = Callable[[Recorded], Row]


def unchanged(record: Recorded) -> Row:
    return {}


def start(record: Recorded) -> Row:
    """The row of a pool just registered (a WorkerPoolRegistered event)."""
    data = record.data
    return {
        "pool_id": data["pool_id"],
        "name": data["name"],
        "region": data["region"],
        "resource_type": data["resource_type"],
        "cost_per_unit": float(data["cost_per_unit"]),
        "capacity": data["capacity"],
        "current_load": 0,
        "registration": record.position,
        "execution": data["execution"],
        "draining": 0,
    }


CHANGES: dict[str, Change] = {
    "WorkerPoolRegistered": unchanged,  # makes the row: `start`
    "PoolCapacityChanged": lambda record: {"capacity": record.data["capacity"]},
    "PoolDrainStarted": lambda record: {"draining": 1},
    "PoolResumed": lambda record: {"draining": 0},
    "PoolExecutionChanged": lambda record: {"execution": record.data["execution"]},
    "PoolSlotClaimed": lambda record: {"current_load": Add(1)},  # LOADS
    "PoolSlotReleased": lambda record: {"current_load": Add(-1)},  # LOADS
    "TaskQueued": unchanged,
    "TaskReady": unchanged,
    "TaskDeferred": unchanged,
    "WorkerAssigned": unchanged,
    "TaskLeased": unchanged,
    "TaskLeaseExtended": unchanged,
    "TaskCancelRequested": unchanged,
    "TaskCompleted": unchanged,
    "TaskFailed": unchanged,
    "TaskLeaseExpired": unchanged,
    "TaskReleased": unchanged,
    "TaskPreempted": unchanged,
    "TaskRetried": unchanged,
    "TaskCancelled": unchanged,
    "TaskDeadLettered": unchanged,
    "AlgorithmSwitched": unchanged,
    "TenantCreated": unchanged,
    "TenantChanged": unchanged,
}
"""The columns each event changes in its pool's row."""

LOADS = frozenset({"PoolSlotClaimed", "PoolSlotReleased"})
"""The event types that only add to a pool's load: every slot, so most pool events; a
reader of the pools' configuration alone (the what-if replay) leaves them out."""


TYPES = changing(CHANGES, unchanged) | {"WorkerPoolRegistered"}
"""The event types that change this read model."""


def changes(record: Recorded) -> Row:
    """The columns `record` changes in its pool's row: set, or `Add`ed to."""
    return CHANGES[record.type](record)


def fold(record: Recorded, row: Row) -> Row:
    """The new values of the columns `record` changes in its pool's `row`."""
    return resolved(changes(record), row)


def folded(history: Iterable[Recorded]) -> Row | None:
    """A pool's row from its stream (None before it is registered)."""
    return fold_stream(history, "WorkerPoolRegistered", start, fold)


def snapshot(row: Row) -> PoolSnapshot:
    """A pool row as the scheduler sees the pool."""
    return PoolSnapshot(
        row["pool_id"],
        row["name"],
        row["region"],
        ResourceType(row["resource_type"]),
        float(row["cost_per_unit"]),
        row["capacity"],
        row["current_load"],
        row["registration"],
        bool(row["draining"]),
    )


def utilization(load: int, capacity: int) -> float:
    """Percent of capacity in use, 0 for a pool with no capacity."""
    return round(100.0 * load / capacity, 2) if capacity else 0.0


def view(row: Row) -> dict[str, Any]:
    """The pool as the API shows it."""
    capacity, load = row["capacity"], row["current_load"]
    return {
        "id": row["pool_id"],
        "name": row["name"],
        "region": row["region"],
        "resource_type": row["resource_type"],
        "cost_per_unit": row["cost_per_unit"],
        "capacity": capacity,
        "current_load": load,
        "utilization": utilization(load, capacity),
        "execution": row["execution"],
        "draining": bool(row["draining"]),
    }
