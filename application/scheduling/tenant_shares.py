"""Fair share in the scheduler: the tenants' settings and the slots their tasks hold, kept
current from the log, and the choice of the next task among the tenants' heads of queue
(`domain.scheduling.fair_share` decides; `domain.scheduling.tenant_stage` records it).

A task that accepts either resource type is placed only when its tenant may take a slot
on every type that has one free (whichever pool the algorithm picks, the tenant stays
within its quota).

It also keeps the running preemptible tasks, for `victim_for` (the choice is
`fair_share.choose_victim`'s)."""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from application.restored_state import HeldSlot, WaitingTask
from domain.events import TenantChanged, TenantCreated
from domain.scheduling.fair_share import Preemption, RunningTask, TenantState, choose_victim
from domain.scheduling.tenant_stage import TenantStage, choice
from domain.tenant import DEFAULT_TENANT, Tenant
from domain.values import ResourceType

if TYPE_CHECKING:
    from application.scheduling.pool_board import PoolBoard
    from application.scheduling.waiting_queue import WaitingQueue

log = structlog.get_logger(__name__)

Requirement = ResourceType | None
OrderKey = tuple[int, ...]
Heads = Mapping[str, Mapping[Requirement, tuple[OrderKey, WaitingTask]]]
"""Each tenant's first waiting task per requirement that some pool has room for."""


@dataclass(frozen=True)
class Preemptible:
    """A running preemptible task and the pool whose slot it holds."""

    pool_id: str
    task: RunningTask


class TenantShares:
    def __init__(self, tenants: Iterable[Tenant] = (), held: Iterable[HeldSlot] = ()) -> None:
        self._tenants: dict[str, Tenant] = {tenant.name: tenant for tenant in tenants}
        self._held: dict[str, tuple[str, ResourceType]] = {}
        self._running: dict[str, dict[ResourceType, int]] = {}
        self._assigned: dict[str, tuple[WaitingTask, int]] = {}
        """Tasks assigned in the log whose slot claim has not arrived yet, with their
        attempts' start (microseconds since the epoch)."""
        self._states: dict[str, TenantState] = {}
        """Each tenant's state as fair share sees it, made again only when it changes."""
        self._preemptible: dict[str, Preemptible] = {}
        """The running tasks that may be preempted, by task id."""
        for slot in held:
            self.hold(slot.task_id, slot.tenant, slot.resource_type)
            if slot.preemptible:
                running = RunningTask(
                    slot.task_id, slot.tenant, slot.priority, slot.resource_type, True,
                    slot.started_us,
                )  # fmt: skip
                self._preemptible[slot.task_id] = Preemptible(slot.pool_id, running)

    def apply(self, event: TenantCreated | TenantChanged) -> None:
        current = self._tenants.get(event.tenant)
        self.set(Tenant.start(event) if current is None else current.when(event))

    def set(self, tenant: Tenant) -> None:
        """A tenant's settings from now on."""
        self._tenants[tenant.name] = tenant
        self._states.pop(tenant.name, None)

    def tenant(self, name: str) -> Tenant:
        return self._tenants.get(name) or Tenant(name)

    def running(self, name: str) -> dict[ResourceType, int]:
        return dict(self._running.get(name, {}))

    @property
    def any_preemptible(self) -> bool:
        return bool(self._preemptible)

    def assigned(self, task: WaitingTask, started_us: int) -> None:
        """A WorkerAssigned this scheduler did not make arrived: its slot claim follows."""
        self._assigned[task.task_id] = (task, started_us)

    def claimed(self, task_id: str, pool_id: str, resource: ResourceType) -> None:
        """A slot claim arrived from the log (counted already if this scheduler made it)."""
        assigned = self._assigned.pop(task_id, None)
        if task_id in self._held:
            return
        if assigned is None:
            log.warning("scheduler.tenant_unknown", task_id=task_id)
            self.hold(task_id, DEFAULT_TENANT, resource)
            return
        task, started_us = assigned
        self.hold(task_id, task.tenant, resource)
        self.started(task, pool_id, resource, started_us)

    def started(
        self, task: WaitingTask, pool_id: str, resource: ResourceType, started_us: int
    ) -> None:
        """A held task's attempt is recorded as started (at `started_us`): a preemptible
        one may be preempted from now on."""
        if task.preemptible and task.task_id in self._held:
            running = RunningTask(
                task.task_id, task.tenant, task.priority, resource, True, started_us
            )
            self._preemptible[task.task_id] = Preemptible(pool_id, running)

    def hold(self, task_id: str, tenant: str, resource: ResourceType) -> None:
        if task_id in self._held:
            return
        self._held[task_id] = (tenant, resource)
        counts = self._running.setdefault(tenant, {})
        counts[resource] = counts.get(resource, 0) + 1
        self._states.pop(tenant, None)

    def release(self, task_id: str) -> None:
        self._assigned.pop(task_id, None)
        self._preemptible.pop(task_id, None)
        held = self._held.pop(task_id, None)
        if held is None:
            return
        tenant, resource = held
        counts = self._running[tenant]
        counts[resource] -= 1
        if not any(counts.values()):
            del self._running[tenant]
        self._states.pop(tenant, None)

    def pick(
        self,
        heads: Heads,
        has_room: Callable[[Requirement], bool],
        capacity: Mapping[ResourceType, int],
    ) -> tuple[WaitingTask, TenantStage | None] | None:
        """The next task to place, and the stage that chose its tenant (None when one
        tenant without quotas waits: it goes first in order, as without tenants)."""
        if not heads:
            return None
        if len(heads) == 1:
            ((name, mine),) = heads.items()
            if self._unlimited(name):
                return min(mine.values(), key=_order)[1], None
        free = frozenset(resource for resource in ResourceType if has_room(resource))
        wanting: dict[str, frozenset[ResourceType]] = {}
        order: dict[str, OrderKey] = {}
        states = []
        for name, mine in heads.items():
            state = self._states.get(name) or self._state(name)
            states.append(state)
            # a head of either type can go wherever a slot is free, so only with room on
            # every free type (else it could never be placed: the tenant competes with its
            # other heads, if any); the others' types have a free slot
            if None in mine and all(state.room(resource) for resource in free):
                wanting[name] = free
            elif kinds := _KINDS.get(frozenset(mine)):
                wanting[name] = kinds
            order[name] = min(key for key, _ in mine.values())
        while wanting:
            made, stage = choice(states, wanting, capacity, order)
            if made.tenant is None:
                return None
            allowed = made.resources
            fits = [
                head
                for requirement, head in heads[made.tenant].items()
                if (requirement in allowed if requirement is not None else free <= allowed)
            ]
            if fits:
                return min(fits, key=_order)[1], stage
            del wanting[made.tenant]  # only tasks it may not place now: the others choose
        return None

    def preemption(
        self, queue: "WaitingQueue", board: "PoolBoard", by_priority: bool
    ) -> tuple[WaitingTask, Preemption] | None:
        """The task fair share would place next were there a slot, and the one running task
        to preempt for it, on the first resource type it may run on (cpu, then gpu) where
        no pool has room; None if it has a slot or no task qualifies. `by_priority`:
        whether a lower priority task of its own tenant may give way (the priority
        algorithm's order). The scheduler and the what-if replay both preempt by this."""
        if not self.any_preemptible:
            return None
        heads = queue.heads(lambda requirement: not board.has_room(requirement))
        capacity = board.capacity()
        picked = self.pick(heads, _every_type, capacity)
        if picked is None:
            return None
        task, _ = picked
        kinds = ResourceType if task.resource_type is None else (task.resource_type,)
        for resource in kinds:
            if board.has_room(resource):
                continue
            found = self.victim_for(task, resource, capacity, board.taking, by_priority)
            if found is not None:
                return task, found
        return None

    def victim_for(
        self,
        task: WaitingTask,
        resource: ResourceType,
        capacity: Mapping[ResourceType, int],
        taking: Callable[[str], bool],
        within_tenant: bool,
    ) -> Preemption | None:
        """The running task to preempt so that `task` can take its slot on `resource`
        (`fair_share.choose_victim`), among the preemptible tasks in pools that take
        tasks (`taking(pool_id)`); None if no task qualifies. `within_tenant`: whether a
        lower priority task of `task`'s own tenant may give way."""
        running = [
            held.task
            for held in self._preemptible.values()
            if held.task.resource is resource and taking(held.pool_id)
        ]
        if not running:
            return None
        names = {held.tenant for held in running} | {task.tenant}
        states = {name: self._state(name) for name in names}
        return choose_victim(
            states[task.tenant], resource, task.priority, running, states, capacity, within_tenant
        )

    def _state(self, name: str) -> TenantState:
        state = self._states.get(name)
        if state is None:
            state = self._states[name] = TenantState.of(self.tenant(name), self.running(name))
        return state

    def _unlimited(self, name: str) -> bool:
        tenant = self.tenant(name)
        return all(tenant.cap(resource) is None for resource in ResourceType)


_KINDS: dict[frozenset[Requirement], frozenset[ResourceType]] = {
    frozenset(requirements): frozenset(r for r in requirements if r is not None)
    for requirements in ((None,), *((r,) for r in ResourceType), (None, *ResourceType),
                         *((None, r) for r in ResourceType), tuple(ResourceType))
}  # fmt: skip
"""The resource types of a tenant's heads' requirements (None: either type)."""


def _every_type(requirement: Requirement) -> bool:
    """As if every resource type had a free slot: whom fair share would place next."""
    return True


def _order(head: tuple[OrderKey, WaitingTask]) -> OrderKey:
    return head[0]
