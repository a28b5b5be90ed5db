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

Tenants: the simulation chooses whose task goes next by fair share
(`application.scheduling.tenant_shares`, the live scheduler's) with the tenants' recorded
settings, each changed where the log changed it, or with other weights and quotas given
for some tenants (`TenantOverride`, in force for the whole replay); and it preempts
preemptible tasks as the live scheduler does (`TenantShares.victim_for`): the victim's
run ends, it waits again at the back of its queue and later runs its whole recorded time.
Per tenant the comparison gives the mean and p95 wait, the preemptions and its share of
the capacity over time (each task's last run only, on both sides: the recorded history
keeps a preempted attempt's time only as the gap before the last one).
"""

import heapq
import itertools
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from application.restored_state import WaitingTask
from application.scheduling.pool_board import PoolBoard
from application.scheduling.tenant_shares import TenantShares
from application.scheduling.waiting_queue import WaitingQueue
from domain.errors import InvalidValue
from domain.scheduling import PoolSnapshot, TaskSnapshot, decide
from domain.tenant import DEFAULT_TENANT, Tenant
from domain.values import Algorithm, Limits, ResourceType

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
    tenant: str = DEFAULT_TENANT
    preemptible: bool = False


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
class TenantSet:
    """A tenant's settings from `position` on (its creation or change)."""

    position: int
    at: float
    tenant: Tenant


@dataclass(frozen=True)
class Preempted:
    """A recorded preemption: when, and whose task was stopped."""

    position: int
    at: float
    tenant: str


@dataclass(frozen=True)
class TenantOverride:
    """Other settings for a tenant in a replay: those given replace the recorded ones for
    the whole replay (in `quota` and `borrowing`, the resource types given)."""

    weight: float | None = None
    quota: Mapping[str, int | None] | None = None
    borrowing: Mapping[str, int | None] | None = None

    def applied(self, tenant: Tenant) -> Tenant:
        return Tenant(
            tenant.name,
            tenant.weight if self.weight is None else self.weight,
            _merged(tenant.quota, self.quota),
            _merged(tenant.borrowing, self.borrowing),
        )


@dataclass(frozen=True)
class ReplayInputs:
    tasks: Sequence[RecordedTask]
    pool_changes: Sequence[PoolChange]
    algorithms_used: frozenset[str]
    end: float
    """Time of the last replayed event."""
    tenant_changes: Sequence[TenantSet] = ()
    preemptions: Sequence[Preempted] = ()


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


@dataclass
class Simulated:
    placements: dict[str, Placement]
    preemptions: Counter[str]
    """Preempted tasks, by their tenant."""


def simulate(
    inputs: ReplayInputs,
    algorithm: Algorithm,
    overrides: Mapping[str, TenantOverride] | None = None,
) -> Simulated:
    """Every replayable task's placement under `algorithm` (and the tenants' recorded
    settings, or `overrides`), and the preemptions made."""
    return _Simulation(inputs, algorithm, overrides or {}).run()


class _Simulation:
    def __init__(
        self,
        inputs: ReplayInputs,
        algorithm: Algorithm,
        overrides: Mapping[str, TenantOverride],
    ) -> None:
        self.inputs, self.algorithm, self.overrides = inputs, algorithm, overrides
        self.clock = _Clock()
        self.queue, self.board = WaitingQueue(algorithm), PoolBoard()
        self.shares = TenantShares()
        self.placements: dict[str, Placement] = {}
        self.runs: dict[str, int] = {}
        """Each running task's run number: a completion of an earlier (preempted) run is
        void."""
        self.preemptions: Counter[str] = Counter()
        self.requeued = max((task.queued_position for task in inputs.tasks), default=0)
        self.replayable = {t.task_id: t for t in inputs.tasks if t.started_at is not None}

    def run(self) -> Simulated:
        clock = self.clock
        for name, override in self.overrides.items():  # in force before any recorded change
            self.shares.set(override.applied(Tenant(name)))
        for setting in self.inputs.tenant_changes:
            clock.push(setting.at, setting.position, "tenant", setting)
        for change in self.inputs.pool_changes:
            clock.push(change.at, change.position, "pool", change)
        for task in self.replayable.values():
            clock.push(task.enqueued_at, task.queued_position, "arrival", task)
        while clock.events:
            now, _, _, kind, item = heapq.heappop(clock.events)
            self._apply(kind, item)
            rounds = 0  # a backstop: each preemption moves a slot for good (see choose_victim)
            while self._place_all(now) | (rounds < MAX_PREEMPTION_ROUNDS and self._preempt()):
                rounds += 1
        return Simulated(self.placements, self.preemptions)

    def _apply(self, kind: str, item: Any) -> None:
        board = self.board
        if kind == "arrival":
            self.queue.add(_waiting(item))
        elif kind == "done":
            pool_id, task_id, number = item
            if self.runs.get(task_id) == number:
                del self.runs[task_id]
                board.add_load(pool_id, -1)
                self.shares.release(task_id)
        elif kind == "tenant":
            tenant = item.tenant
            override = self.overrides.get(tenant.name)
            self.shares.set(tenant if override is None else override.applied(tenant))
        elif isinstance(item, PoolRegistered):
            board.put(item.pool)
        elif isinstance(item, CapacityChanged):
            board.set_capacity(item.pool_id, item.capacity)
        elif isinstance(item, DrainChanged):
            board.set_draining(item.pool_id, item.draining)

    def _place_all(self, now: float) -> bool:
        placed = False
        board, queue = self.board, self.queue
        while picked := self.shares.pick(queue.heads(board.has_room), board.has_room,
                                         board.capacity()):  # fmt: skip
            waiting, _ = picked
            task = self.replayable[waiting.task_id]
            snapshot = TaskSnapshot(task.task_id, task.priority, task.region, task.resource_type)
            chosen = decide(self.algorithm, snapshot, board.snapshots()).chosen
            if chosen is None:
                break
            queue.take(task.task_id)
            board.add_load(chosen.pool_id, 1)
            self.shares.hold(task.task_id, task.tenant, chosen.resource_type)
            self.shares.started(waiting, chosen.pool_id, chosen.resource_type, int(now * 1e6))
            end = now + _duration(task, self.inputs.end)
            self.placements[task.task_id] = Placement(task, chosen.pool_id, now, end)
            number = self.runs[task.task_id] = self.runs.get(task.task_id, 0) + 1
            hint = task.finished_position if task.finished_position is not None else END
            self.clock.push(end, hint, "done", (chosen.pool_id, task.task_id, number))
            placed = True
        return placed

    def _preempt(self) -> bool:
        """One preemption, as the live scheduler makes it (see `Scheduler._preempt`)."""
        by_priority = self.algorithm is Algorithm.PRIORITY
        found = self.shares.preemption(self.queue, self.board, by_priority)
        if found is None:
            return False
        self._stop(found[1].victim)
        return True

    def _stop(self, task_id: str) -> None:
        """End a task's run now; it waits again at the back of its queue."""
        placement = self.placements.pop(task_id)
        del self.runs[task_id]
        self.board.add_load(placement.pool_id, -1)
        self.shares.release(task_id)
        self.preemptions[placement.task.tenant] += 1
        self.requeued += 1
        self.queue.add(replace(_waiting(placement.task), queued_position=self.requeued))


def recorded(inputs: ReplayInputs) -> dict[str, Placement]:
    """What actually happened to every replayable task."""
    placements = {}
    for task in inputs.tasks:
        if task.started_at is None or task.pool_id is None:
            continue
        end = task.finished_at if task.finished_at is not None else inputs.end
        placements[task.task_id] = Placement(task, task.pool_id, task.started_at, end)
    return placements


def compare(
    inputs: ReplayInputs,
    algorithm: Algorithm,
    reported_from: int = 0,
    overrides: Mapping[str, TenantOverride] | None = None,
) -> dict[str, Any]:
    """The replay under `algorithm` (and the tenants' settings `overrides`) beside the
    recorded history, over the tasks queued after position `reported_from` (the whole
    history is simulated either way). A task the replay leaves waiting at the end (no
    capacity for it, or preempted and not run again) is counted in `still_waiting` and
    compared on neither side."""
    known = {task.tenant for task in inputs.tasks} | {s.tenant.name for s in inputs.tenant_changes}
    unknown = sorted(set(overrides or {}) - known)
    if unknown:
        raise InvalidValue(
            f"no task or setting of tenant {', '.join(unknown)} in the replayed history"
        )
    actual = recorded(inputs)
    simulated = simulate(inputs, algorithm, overrides)
    what_if = simulated.placements
    reported = [task for task in inputs.tasks if task.queued_position > reported_from]
    ran = [task.task_id for task in reported if task.task_id in actual]
    ids = [task_id for task_id in ran if task_id in what_if]
    start = min((task.enqueued_at for task in reported), default=inputs.end)
    pools = _pool_table(inputs.pool_changes)
    recorded_preemptions = Counter(
        p.tenant for p in inputs.preemptions if p.position > reported_from
    )
    return {
        "algorithm": str(algorithm),
        "algorithms_used": sorted(inputs.algorithms_used),
        "tasks": len(ids),
        "not_replayed": len(reported) - len(ran),
        "still_waiting": len(ran) - len(ids),
        "placements_changed": sum(actual[i].pool_id != what_if[i].pool_id for i in ids),
        "actual": metrics([actual[i] for i in ids], pools, inputs, start),
        "what_if": metrics([what_if[i] for i in ids], pools, inputs, start),
        "tenants": tenant_metrics(
            [actual[i] for i in ids],
            [what_if[i] for i in ids],
            inputs,
            start,
            (recorded_preemptions, simulated.preemptions),
        ),
    }


MAX_PREEMPTION_ROUNDS = 10_000
"""Rounds after one event after which the replay stops preempting until the next (a
backstop against a policy that would pass slots back and forth for ever)."""

SHARE_BUCKETS = 20
"""Intervals the share of capacity over time is given in."""


def tenant_metrics(
    actual: Sequence[Placement],
    what_if: Sequence[Placement],
    inputs: ReplayInputs,
    start: float,
    preemptions: tuple[Counter[str], Counter[str]],
) -> dict[str, Any]:
    """Per tenant, on each side: tasks, mean and p95 wait, preemptions, and its share of
    the capacity (slot-seconds its tasks held over the slot-seconds the pools offered) in
    each of SHARE_BUCKETS equal intervals from `start` to the end, in percent."""
    names = sorted({p.task.tenant for p in actual} | set(preemptions[0]) | set(preemptions[1]))
    width = max(inputs.end - start, 0.0) / SHARE_BUCKETS
    edges = [start + width * index for index in range(SHARE_BUCKETS + 1)]
    offered = [
        sum(_slot_seconds(inputs.pool_changes, low, high).values())
        for low, high in itertools.pairwise(edges)
    ]
    sides = {}
    for side, placements, preempted in (
        ("actual", actual, preemptions[0]),
        ("what_if", what_if, preemptions[1]),
    ):
        by_tenant: dict[str, list[Placement]] = {name: [] for name in names}
        for placement in placements:
            by_tenant[placement.task.tenant].append(placement)
        sides[side] = {
            name: {
                "tasks": len(mine),
                "mean_wait_s": _mean([wait_of(p) for p in mine]),
                "p95_wait_s": _p95(sorted(map(wait_of, mine))),
                "preemptions": preempted.get(name, 0),
                "share_pct": _shares(mine, edges, offered),
            }
            for name, mine in by_tenant.items()
        }
    return {"bucket_s": round(width, 6), "start": start, **sides}


def _shares(placements: Sequence[Placement], edges: Sequence[float],
            offered: Sequence[float]) -> list[float]:  # fmt: skip
    held = [0.0] * len(offered)
    for placement in placements:
        for index, (low, high) in enumerate(itertools.pairwise(edges)):
            overlap = min(placement.end, high) - max(placement.start, low)
            if overlap > 0:
                held[index] += overlap
    return [
        round(100.0 * busy / slots, 2) if slots > 0 else 0.0
        for busy, slots in zip(held, offered, strict=True)
    ]


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
        "p95_wait_s": _p95(waits),
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
        tenant=task.tenant,
        preemptible=task.preemptible,
    )


def _merged(limits: Limits, changes: Mapping[str, int | None] | None) -> Limits:
    return limits if changes is None else replace(limits, **changes)


def _p95(ordered: Sequence[float]) -> float:
    return ordered[math.ceil(0.95 * len(ordered)) - 1] if ordered else 0.0


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
