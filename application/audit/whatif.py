"""What-if replays: the recorded task arrivals and pool configuration run through a
deterministic discrete-event simulation under another algorithm, compared side by side
with what actually happened.

The simulation reuses the live scheduler's parts (its waiting queue order, its pool board
and the same `decide`), so a replay under the algorithm that was actually used reproduces
the recorded placements when the scheduler acted after every event, as the server's does.
Each task keeps its recorded processing time and outcome; the scheduler acts after every
arrival, completion and pool change. Ties in time fall back to log order: arrivals and pool
changes by their position, a completion by the position its recorded completion had.

Tasks that never started in the recorded history (cancelled or still waiting) have no
processing time to reuse: they are left out of both sides and counted as `not_replayed`.
A task still running at the end runs until the end of the replayed history.
"""

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from application.restored_state import WaitingTask
from application.scheduling.pool_board import PoolBoard
from application.scheduling.waiting_queue import WaitingQueue
from domain.scheduling import PoolSnapshot, TaskSnapshot, decide
from domain.values import Algorithm, ResourceType

END = math.inf
"""The tie-break hint of a completion that never happened: after everything."""


@dataclass(frozen=True)
class RecordedTask:
    """A task as the log recorded it; times in seconds since the epoch."""

    task_id: str
    priority: int
    region: str
    resource_type: ResourceType | None
    cost: float
    queued_position: int
    enqueued_at: float
    pool_id: str | None
    started_at: float | None
    finished_at: float | None
    finished_position: int | None


@dataclass(frozen=True)
class PoolRegistered:
    position: int
    at: float
    pool: PoolSnapshot
    execution: str = "simulated"


@dataclass(frozen=True)
class CapacityChanged:
    position: int
    at: float
    pool_id: str
    capacity: int


@dataclass(frozen=True)
class DrainChanged:
    position: int
    at: float
    pool_id: str
    draining: bool


@dataclass(frozen=True)
class ExecutionChanged:
    """Who runs the pool's tasks: no bearing on placement, kept for the pool views."""

    position: int
    at: float
    pool_id: str
    execution: str


PoolChange = PoolRegistered | CapacityChanged | DrainChanged | ExecutionChanged


@dataclass(frozen=True)
class ReplayInputs:
    tasks: Sequence[RecordedTask]
    pool_changes: Sequence[PoolChange]
    algorithms_used: frozenset[str]
    end: float
    """Time of the last replayed event."""


@dataclass(frozen=True)
class Placement:
    task: RecordedTask
    pool_id: str
    start: float
    end: float


@dataclass
class _Clock:
    events: list[tuple[float, float, int, str, Any]] = field(default_factory=list)
    sequence: int = 0

    def push(self, at: float, hint: float, kind: str, item: Any) -> None:
        self.sequence += 1
        heapq.heappush(self.events, (at, hint, self.sequence, kind, item))


def simulate(inputs: ReplayInputs, algorithm: Algorithm) -> dict[str, Placement]:
    """Every replayable task's placement under `algorithm`."""
    clock = _Clock()
    for change in inputs.pool_changes:
        clock.push(change.at, change.position, "pool", change)
    replayable = {task.task_id: task for task in inputs.tasks if task.started_at is not None}
    for task in replayable.values():
        clock.push(task.enqueued_at, task.queued_position, "arrival", task)
    queue, board = WaitingQueue(algorithm), PoolBoard()
    placements: dict[str, Placement] = {}
    while clock.events:
        now, _, _, kind, item = heapq.heappop(clock.events)
        if kind == "arrival":
            queue.add(_waiting(item))
        elif kind == "done":
            board.add_load(item, -1)
        elif isinstance(item, PoolRegistered):
            board.put(item.pool)
        elif isinstance(item, CapacityChanged):
            board.set_capacity(item.pool_id, item.capacity)
        elif isinstance(item, DrainChanged):
            board.set_draining(item.pool_id, item.draining)
        while (waiting := queue.next_placeable(board.has_room)) is not None:
            task = replayable[waiting.task_id]
            snapshot = TaskSnapshot(task.task_id, task.priority, task.region, task.resource_type)
            chosen = decide(algorithm, snapshot, board.snapshots()).chosen_pool_id
            if chosen is None:
                break
            queue.take(task.task_id)
            board.add_load(chosen, 1)
            end = now + _duration(task, inputs.end)
            placements[task.task_id] = Placement(task, chosen, now, end)
            hint = task.finished_position if task.finished_position is not None else END
            clock.push(end, hint, "done", chosen)
    return placements


def recorded(inputs: ReplayInputs) -> dict[str, Placement]:
    """What actually happened to every replayable task."""
    placements = {}
    for task in inputs.tasks:
        if task.started_at is None or task.pool_id is None:
            continue
        end = task.finished_at if task.finished_at is not None else inputs.end
        placements[task.task_id] = Placement(task, task.pool_id, task.started_at, end)
    return placements


def compare(inputs: ReplayInputs, algorithm: Algorithm, reported_from: int = 0) -> dict[str, Any]:
    """The replay under `algorithm` beside the recorded history, over the tasks queued
    after position `reported_from` (the whole history is simulated either way)."""
    actual, what_if = recorded(inputs), simulate(inputs, algorithm)
    reported = [task for task in inputs.tasks if task.queued_position > reported_from]
    ids = [task.task_id for task in reported if task.task_id in actual]
    start = min((task.enqueued_at for task in reported), default=inputs.end)
    pools = _pool_table(inputs.pool_changes)
    return {
        "algorithm": str(algorithm),
        "algorithms_used": sorted(inputs.algorithms_used),
        "tasks": len(ids),
        "not_replayed": len(reported) - len(ids),
        "placements_changed": sum(actual[i].pool_id != what_if[i].pool_id for i in ids),
        "actual": metrics([actual[i] for i in ids], pools, inputs, start),
        "what_if": metrics([what_if[i] for i in ids], pools, inputs, start),
    }


BANDS = (("high", 7, 10), ("medium", 4, 6), ("low", 1, 3))


def metrics(
    placements: Sequence[Placement],
    pools: dict[str, PoolSnapshot],
    inputs: ReplayInputs,
    start: float,
) -> dict[str, Any]:
    waits = sorted(map(wait_of, placements))
    busy: dict[str, float] = {}
    for placement in placements:
        busy[placement.pool_id] = busy.get(placement.pool_id, 0.0) + (
            max(min(placement.end, inputs.end) - max(placement.start, start), 0.0)
        )
    available = _slot_seconds(inputs.pool_changes, start, inputs.end)
    return {
        "total_cost": round(
            sum(p.task.cost * pools[p.pool_id].cost_per_unit for p in placements), 6
        ),
        "cross_region": sum(pools[p.pool_id].region != p.task.region for p in placements),
        "mean_wait_s": _mean(waits),
        "p95_wait_s": waits[math.ceil(0.95 * len(waits)) - 1] if waits else 0.0,
        "mean_wait_by_priority_band_s": {
            name: _mean([wait_of(p) for p in placements if low <= p.task.priority <= high])
            for name, low, high in BANDS
        },
        "pool_utilization_pct": {
            pools[pool_id].name: round(100.0 * busy.get(pool_id, 0.0) / seconds, 2)
            if seconds
            else 0.0
            for pool_id, seconds in available.items()
        },
    }


def wait_of(placement: Placement) -> float:
    return placement.start - placement.task.enqueued_at


def _waiting(task: RecordedTask) -> WaitingTask:
    return WaitingTask(
        task.task_id,
        task.priority,
        task.region,
        task.resource_type,
        task.queued_position,
        correlation_id="",
        deferred=True,
    )


def _duration(task: RecordedTask, end: float) -> float:
    assert task.started_at is not None
    finished = task.finished_at if task.finished_at is not None else end
    return max(finished - task.started_at, 0.0)


def _pool_table(changes: Sequence[PoolChange]) -> dict[str, PoolSnapshot]:
    return {c.pool.pool_id: c.pool for c in changes if isinstance(c, PoolRegistered)}


def _slot_seconds(changes: Sequence[PoolChange], start: float, end: float) -> dict[str, float]:
    """Each pool's capacity integrated over [start, end]."""
    capacity: dict[str, int] = {}
    since: dict[str, float] = {}
    total: dict[str, float] = {}
    resizes = [c for c in changes if isinstance(c, PoolRegistered | CapacityChanged)]
    for change in sorted(resizes, key=lambda c: (c.at, c.position)):
        pool_id = change.pool.pool_id if isinstance(change, PoolRegistered) else change.pool_id
        at = min(max(change.at, start), end)
        if pool_id in capacity:
            total[pool_id] += capacity[pool_id] * (at - since[pool_id])
        else:
            total[pool_id] = 0.0
        capacity[pool_id] = (
            change.pool.capacity if isinstance(change, PoolRegistered) else change.capacity
        )
        since[pool_id] = at
    for pool_id, slots in capacity.items():
        total[pool_id] += slots * (end - since[pool_id])
    return total


def _mean(values: Sequence[float]) -> float:
    return round(sum(values) / len(values), 6) if values else 0.0
