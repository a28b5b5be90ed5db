"""The tenants as verification folds the log: each task's tenant, priority and whether it
may be preempted (from its TaskQueued), each tenant's settings, the algorithm in use and
the slots running tasks hold, with an undo trail of the recent changes.

A scheduler decides on the log as it stood at its record's `seen`, plus the slots its own
run claimed after `seen` (see DecisionRecord). `at(seen, run)` gives exactly that state
for any recent `seen`, from the current state and the few changes since: the counts a
decision's tenant stage recorded, the settings it used, and, for a preemption, every
running task it chose among."""

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, NamedTuple

from domain.events import (
    AlgorithmSwitched,
    PoolSlotClaimed,
    PoolSlotReleased,
    TaskCancelled,
    TaskCompleted,
    TaskQueued,
    TaskReady,
    TenantChanged,
    TenantCreated,
    WorkerAssigned,
)
from domain.scheduler_config import SchedulerConfig
from domain.task import task_stream
from domain.tenant import DEFAULT_TENANT, Tenant
from domain.values import Algorithm, Limits, ResourceType, epoch_us

QUEUED, READY = TaskQueued.type_name(), TaskReady.type_name()
ASSIGNED = WorkerAssigned.type_name()
CLAIMED, RELEASED = PoolSlotClaimed.type_name(), PoolSlotReleased.type_name()
CREATED, CHANGED = TenantCreated.type_name(), TenantChanged.type_name()
SWITCHED = AlgorithmSwitched.type_name()
CLOSING = frozenset({TaskCompleted.type_name(), TaskCancelled.type_name()})
TYPES = frozenset(
    {QUEUED, READY, ASSIGNED, CLAIMED, RELEASED, CREATED, CHANGED, SWITCHED, *CLOSING}
)
"""The event types the trail folds."""
NEEDED = TYPES - CLOSING
"""The event types that make its state (closing ones only let it forget facts)."""
TASK_PREFIX = task_stream("")
FORGET_EVERY = 1000


class TaskFacts(NamedTuple):
    """What a task's submission says about its tenant and its place among preemptions."""

    tenant: str
    priority: int
    preemptible: bool


UNKNOWN = TaskFacts(DEFAULT_TENANT, 0, False)


class Slot(NamedTuple):
    """A running task's slot."""

    task_id: str
    tenant: str
    resource: ResourceType
    pool_id: str
    priority: int
    preemptible: bool
    started_us: int
    run: str | None
    """The scheduler run whose decision claimed it (None: a whole Decision's, or unknown)."""


SlotChange = tuple[int, bool, Slot]
"""(position, True for a claim and False for a release, the slot)"""
SettingsChange = tuple[int, str, Tenant | None]
"""(position, the tenant's name, its settings before: None if it was made there)"""


@dataclass
class Seen:
    """The tenants as a decision made at `seen` by scheduler run `run` saw them."""

    tenants: Mapping[str, Tenant]
    algorithm: Algorithm
    counts: dict[tuple[str, ResourceType], int]
    slots: dict[str, Slot] | None = None
    """Every running task's slot (only when asked for)."""

    def tenant(self, name: str) -> Tenant:
        return self.tenants.get(name) or Tenant(name)

    def count(self, tenant: str, resource: ResourceType) -> int:
        return self.counts.get((tenant, resource), 0)


@dataclass
class TenantTrail:
    keep: int = 200_000
    """How many positions back a state can be rebuilt."""
    facts: dict[str, TaskFacts] = field(default_factory=dict)
    """Each open task's facts, by task id."""
    tenants: dict[str, Tenant] = field(default_factory=dict)
    slots: dict[str, Slot] = field(default_factory=dict)
    """The running tasks' slots, by task id."""
    counts: dict[tuple[str, ResourceType], int] = field(default_factory=dict)
    algorithm: Algorithm = SchedulerConfig().algorithm
    slot_changes: deque[SlotChange] = field(default_factory=deque)
    settings_changes: deque[SettingsChange] = field(default_factory=deque)
    switches: deque[tuple[int, Algorithm]] = field(default_factory=deque)
    """(position, the algorithm before) of each switch."""
    floor: int = 0
    """No state before this position can be rebuilt."""
    position: int = 0
    capped: bool = False
    """Some tenant has had a limit on its running tasks (before that, none can pass one)."""
    known: bool = True
    """False when folding from a log start saved before the tenants were kept in it: the
    tenants' settings and the slots running there are unknown, so no check that needs
    them can be made (they are counted as skipped, never reported as findings)."""
    _trimmed: int = 0
    _assigned: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    """Tasks assigned whose slot claim has not been folded yet: (run, when, as stored)."""

    def tenant(self, name: str) -> Tenant:
        return self.tenants.get(name) or Tenant(name)

    def facts_of(self, task_id: str) -> TaskFacts:
        return self.facts.get(task_id, UNKNOWN)

    def apply(self, kind: str, position: int, data: Mapping[str, Any],
              resource_of: Callable[[str], ResourceType | None]) -> None:  # fmt: skip
        """Fold the next event of the log (of any type: those not in TYPES pass)."""
        fold = self._folds.get(kind)
        if fold is not None:
            fold(self, position, data, resource_of)

    @classmethod
    def folds(
        cls,
    ) -> Mapping[
        str,
        Callable[
            ["TenantTrail", int, Mapping[str, Any], Callable[[str], ResourceType | None]], None
        ],
    ]:
        """Each folded event type's fold, for a caller that dispatches itself (`apply`
        does the same, one call more)."""
        return cls._folds  # fmt: skip

    def _queued(self, position: int, data: Mapping[str, Any], _: Any) -> None:
        self.facts[data["task_id"]] = TaskFacts(
            data["tenant"], data["priority"], data["preemptible"]
        )

    def _ready(self, position: int, data: Mapping[str, Any], _: Any) -> None:
        """What the scheduler takes a waiting task's preemptibility from."""
        facts = self.facts.get(data["task_id"])
        if facts is not None and facts.preemptible != data["preemptible"]:
            self.facts[data["task_id"]] = facts._replace(preemptible=data["preemptible"])

    def _closed(self, position: int, data: Mapping[str, Any], _: Any) -> None:
        """No event of the task needs its facts any more."""
        self.facts.pop(data["task_id"], None)

    def _assignment(self, position: int, data: Mapping[str, Any], _: Any) -> None:
        run = data["decision"].get("run")
        self._assigned[data["task_id"]] = (run if isinstance(run, str) else None,
                                           data["assigned_at"])  # fmt: skip

    def _claimed(self, position: int, data: Mapping[str, Any],
                 resource_of: Callable[[str], ResourceType | None]) -> None:  # fmt: skip
        task_id, pool_id = data["task_id"], data["pool_id"]
        resource = resource_of(pool_id)
        run, assigned_at = self._assigned.pop(task_id, (None, None))
        if resource is None or task_id in self.slots:
            return
        tenant, priority, preemptible = self.facts.get(task_id, UNKNOWN)
        started = (
            epoch_us(datetime.fromisoformat(assigned_at)) if preemptible and assigned_at else 0
        )
        slot = Slot(task_id, tenant, resource, pool_id, priority, preemptible, started, run)
        self.slots[task_id] = slot
        self._count(slot, 1)
        self.slot_changes.append((position, True, slot))
        self._trim(position)

    def _released(self, position: int, data: Mapping[str, Any], _: Any) -> None:
        slot = self.slots.pop(data["task_id"], None)
        if slot is not None:
            self._count(slot, -1)
            self.slot_changes.append((position, False, slot))
            self._trim(position)

    def _setting(self, position: int, data: Mapping[str, Any], _: Any) -> None:
        name = data["tenant"]
        self.settings_changes.append((position, name, self.tenants.get(name)))
        tenant = self.tenants[name] = settings_of(data)
        self.capped = self.capped or any(tenant.cap(kind) is not None for kind in ResourceType)
        self._trim(position)

    def _switched(self, position: int, data: Mapping[str, Any], _: Any) -> None:
        self.switches.append((position, self.algorithm))
        self.algorithm = Algorithm(data["algorithm"])
        self._trim(position)

    _folds: ClassVar[dict[str, Callable[..., None]]] = {
        QUEUED: _queued, READY: _ready, ASSIGNED: _assignment, CLAIMED: _claimed,
        RELEASED: _released, CREATED: _setting, CHANGED: _setting, SWITCHED: _switched,
        **dict.fromkeys(CLOSING, _closed),
    }  # fmt: skip

    def _trim(self, position: int) -> None:
        self.position = position
        if position - self._trimmed >= FORGET_EVERY:
            self._forget(position - self.keep)
            self._trimmed = position

    def _count(self, slot: Slot, delta: int) -> None:
        key = (slot.tenant, slot.resource)
        count = self.counts.get(key, 0) + delta
        if count:
            self.counts[key] = count
        else:
            self.counts.pop(key, None)

    def _forget(self, before: int) -> None:
        for trail in (self.slot_changes, self.settings_changes, self.switches):
            while trail and trail[0][0] < before:
                trail.popleft()

    def at(self, seen: int, run: str | None, slots: bool = False) -> Seen:
        """The state a decision made at `seen` by scheduler run `run` saw: the log up to
        `seen` and the slots `run` claimed after it (with every slot if `slots`). Raises
        TooFarBack if the trail does not reach back to `seen`."""
        if seen < self.floor or seen < self.position - self.keep:
            raise TooFarBack(f"the tenants at position {seen} are no longer kept")
        counts = dict(self.counts)
        every = dict(self.slots) if slots else None
        for position, claimed, slot in reversed(self.slot_changes):
            if position <= seen:
                break
            if claimed and run is not None and slot.run == run:
                continue  # the run's own claims after `seen` it counted
            key = (slot.tenant, slot.resource)
            counts[key] = counts.get(key, 0) + (-1 if claimed else 1)
            if every is not None:
                if claimed:
                    every.pop(slot.task_id, None)
                else:
                    every[slot.task_id] = slot
        return Seen(self.tenants_at(seen), self.algorithm_at(seen), counts, every)

    def tenants_at(self, seen: int) -> dict[str, Tenant]:
        """Each tenant's settings as the log stood at `seen`."""
        tenants: dict[str, Tenant] = dict(self.tenants)
        for position, name, before in reversed(self.settings_changes):
            if position <= seen:
                break
            if before is None:
                tenants.pop(name, None)
            else:
                tenants[name] = before
        return tenants

    def tenant_at(self, seen: int, name: str) -> Tenant:
        """One tenant's settings as the log stood at `seen`."""
        tenant = self.tenants.get(name)
        for position, changed, before in reversed(self.settings_changes):
            if position <= seen:
                break
            if changed == name:
                tenant = before
        return tenant or Tenant(name)

    def algorithm_at(self, seen: int) -> Algorithm:
        algorithm = self.algorithm
        for position, previous in reversed(self.switches):
            if position <= seen:
                break
            algorithm = previous
        return algorithm

    # -- kept in a log start ---------------------------------------------------------------

    def entries_after(self, floor: int) -> dict[str, Any]:
        """The trail's state and its changes after `floor`, as plain data (see
        `from_entries`)."""
        return {
            "facts": {task: list(facts) for task, facts in self.facts.items()},
            "tenants": [_plain(tenant) for tenant in self.tenants.values()],
            "slots": [_plain_slot(slot) for slot in self.slots.values()],
            "algorithm": self.algorithm.value,
            "slot_changes": [
                [position, claimed, _plain_slot(slot)]
                for position, claimed, slot in self.slot_changes
                if position > floor
            ],
            "settings_changes": [
                [position, name, None if before is None else _plain(before)]
                for position, name, before in self.settings_changes
                if position > floor
            ],
            "switches": [
                [position, previous.value]
                for position, previous in self.switches
                if position > floor
            ],
            "assigned": [[task, run, at] for task, (run, at) in self._assigned.items()],
            "capped": self.capped,
            "known": self.known,
        }

    @classmethod
    def from_entries(cls, state: Mapping[str, Any], position: int, floor: int) -> "TenantTrail":
        trail = cls(position=position, floor=floor)
        trail.facts = {str(task): TaskFacts(*facts) for task, facts in state["facts"].items()}
        trail.tenants = {t["name"]: from_plain(t) for t in state["tenants"]}
        for plain in state["slots"]:
            slot = _slot(plain)
            trail.slots[slot.task_id] = slot
            trail._count(slot, 1)
        trail.algorithm = Algorithm(state["algorithm"])
        trail.slot_changes.extend(
            (int(at), bool(claimed), _slot(slot)) for at, claimed, slot in state["slot_changes"]
        )
        trail.settings_changes.extend(
            (int(at), str(name), None if before is None else from_plain(before))
            for at, name, before in state["settings_changes"]
        )
        trail.switches.extend((int(at), Algorithm(before)) for at, before in state["switches"])
        trail._assigned = {str(task): (run, str(at)) for task, run, at in state.get("assigned", [])}
        trail.capped = bool(state.get("capped", True))
        trail.known = bool(state.get("known", True))
        return trail

    def copy(self) -> "TenantTrail":
        return TenantTrail.from_entries(self.entries_after(self.floor), self.position, self.floor)


class TooFarBack(Exception):
    """The state asked for is older than the trail keeps."""


def open_facts(trail: TenantTrail, open_tasks: Iterable[str]) -> None:
    """Keep only the facts of `open_tasks` (task streams)."""
    keep = {stream.removeprefix(TASK_PREFIX) for stream in open_tasks}
    trail.facts = {task: facts for task, facts in trail.facts.items() if task in keep}


def settings_of(data: Mapping[str, Any]) -> Tenant:
    """A tenant's settings as a TenantCreated or TenantChanged payload states them."""
    return Tenant(
        data["tenant"], float(data["weight"]), _limits(data["quota"]), _limits(data["borrowing"])
    )


def _limits(plain: Mapping[str, Any]) -> Limits:
    return Limits(plain.get("cpu"), plain.get("gpu"))


def _plain(tenant: Tenant) -> dict[str, Any]:
    return {
        "name": tenant.name,
        "weight": tenant.weight,
        "quota": {"cpu": tenant.quota.cpu, "gpu": tenant.quota.gpu},
        "borrowing": {"cpu": tenant.borrowing.cpu, "gpu": tenant.borrowing.gpu},
    }


def from_plain(plain: Mapping[str, Any]) -> Tenant:
    """A tenant's settings as a log start keeps them (`entries_after`)."""
    return Tenant(
        plain["name"], float(plain["weight"]), _limits(plain["quota"]), _limits(plain["borrowing"])
    )


def _plain_slot(slot: Slot) -> list[Any]:
    return [*slot[:2], slot.resource.value, *slot[3:]]


def _slot(plain: list[Any]) -> Slot:
    task_id, tenant, resource, pool_id, priority, preemptible, started, run = plain
    return Slot(task_id, tenant, ResourceType(resource), pool_id, int(priority),
                bool(preemptible), int(started), run)  # fmt: skip
