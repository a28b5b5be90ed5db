"""Weighted fair share between tenants: whose task is placed next, and whose task gives way.

Dominant-resource fairness, as in Kubernetes Kueue's fair sharing: a tenant's share is the
largest fraction of any resource type's capacity its running tasks hold, divided by its
weight, so a tenant of weight 2 is owed twice the capacity of a tenant of weight 1.

Choosing the next tenant (`choose`), among the tenants whose next task could be placed now:

- A tenant with no room (running + 1 past its quota plus borrowing limit on every resource
  type it could use) waits "at quota".
- Tenants that can be placed within their quota go before tenants that would have to
  borrow past it: a tenant borrows only capacity no tenant within its quota wants.
- Within a group the lowest share wins; ties go to the smaller queue order key of the
  tenant's head task, then the name. A lone tenant with room is always chosen, so a
  single-tenant system places exactly as it would without fair share.

Shares are compared exactly (as fractions; a float weight is an exact fraction), so equal
shares reached by different weights tie, and ties are broken by the order key as promised
rather than by rounding.

Choosing a victim when a placement needs a slot that is taken (`choose_victim`): exactly
one task, or none.

- Only a preemptible task running on the resource type the beneficiary needs.
- A task of another tenant only if that tenant stays at or above the beneficiary once the
  slot has changed hands: its share without the task is at least the beneficiary's share
  with the slot, and above the beneficiary's share now (Kueue's "less than or equal to
  final share"). So the freed slot goes to the beneficiary, not back to the victim's
  tenant, and neither can take it back: with unequal weights, comparing the victim's share
  before losing the task made two tenants pass a slot back and forth for ever. Priority
  does not protect a task from another tenant's claim: the share does.
- Preempting another tenant only for placements within the beneficiary's room and quota:
  a beneficiary with no room on the resource, or that would borrow past its quota there,
  takes nothing from other tenants (borrowing is for idle capacity only).
- A task of the beneficiary's own tenant only if its priority is strictly below the
  beneficiary's (equal or higher never), and only when the caller asks for it
  (`within_tenant`: the scheduler does under the `priority` algorithm, where priority is
  the order of the queue): the tenant's usage stays the same, so neither its room nor
  its share matters.
- The victim comes from the tenant with the highest share first (the beneficiary's own
  tasks therefore last), then the lowest priority, then the newest (largest `started`),
  then the task id.
- Tasks of tenants missing from `tenants` are never chosen.
"""

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from fractions import Fraction
from typing import NamedTuple, Protocol

from domain.values import NO_BORROWING, NO_LIMITS, Limits, ResourceType


class TenantSettings(Protocol):
    """A tenant's settings (a `domain.tenant.Tenant`, which imports the events this
    module's records are part of)."""

    @property
    def name(self) -> str: ...

    @property
    def weight(self) -> float: ...

    @property
    def quota(self) -> Limits: ...

    @property
    def borrowing(self) -> Limits: ...


CPU, GPU = ResourceType.CPU, ResourceType.GPU
_KINDS = tuple(ResourceType)
SUMMARY_OTHERS = 5
"""Tenants a summary names besides the chosen one (then: "and N more wait")."""
NEAR = 1e-9
"""Relative distance within which two float shares are compared exactly."""
SHARE_DIGITS = 6
"""Shares in figures, summaries and preemptions are rounded to this many decimals."""


def dominant_share(
    running: Mapping[ResourceType, int], capacity: Mapping[ResourceType, int]
) -> float:
    """The largest fraction of a resource type's capacity the running tasks hold, over the
    types with capacity (0.0 when nothing runs or there is no capacity)."""
    return float(_dominant(running, capacity))


def _dominant(
    running: Mapping[ResourceType, int], capacity: Mapping[ResourceType, int]
) -> Fraction:
    return max(
        (
            Fraction(running.get(resource, 0), total)
            for resource, total in capacity.items()
            if total > 0
        ),
        default=Fraction(0),
    )


@dataclass(frozen=True)
class TenantState:
    """A tenant's settings and what it runs now. Running counts are two int fields (rather
    than a mapping) so the state stays hashable and cheap to copy; `running` gives them as
    a mapping."""

    name: str
    weight: float = 1.0
    quota: Limits = NO_LIMITS
    borrowing: Limits = NO_BORROWING
    """How far past the quota it may go (None on a type: no limit on borrowing)."""
    running_cpu: int = 0
    running_gpu: int = 0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.weight) and self.weight > 0):
            raise ValueError(f"tenant {self.name}: weight must be above 0, got {self.weight}")
        if self.running_cpu < 0 or self.running_gpu < 0:
            raise ValueError(
                f"tenant {self.name}: running counts cannot be negative, "
                f"got cpu={self.running_cpu}, gpu={self.running_gpu}"
            )

    @staticmethod
    def of(tenant: "TenantSettings", running: Mapping[ResourceType, int]) -> "TenantState":
        """The state of a Tenant aggregate running `running` tasks per resource type."""
        return TenantState(
            tenant.name,
            tenant.weight,
            tenant.quota,
            tenant.borrowing,
            running.get(ResourceType.CPU, 0),
            running.get(ResourceType.GPU, 0),
        )

    @property
    def running(self) -> dict[ResourceType, int]:
        return {ResourceType.CPU: self.running_cpu, ResourceType.GPU: self.running_gpu}

    def running_of(self, resource: ResourceType) -> int:
        return self.running_cpu if resource is ResourceType.CPU else self.running_gpu

    def placed(self, resource: ResourceType) -> "TenantState":
        """The state once one more task runs on `resource`."""
        if resource is ResourceType.CPU:
            return replace(self, running_cpu=self.running_cpu + 1)
        return replace(self, running_gpu=self.running_gpu + 1)

    def released(self, resource: ResourceType) -> "TenantState":
        """The state once one task fewer runs on `resource` (none fewer than none)."""
        if resource is ResourceType.CPU:
            return replace(self, running_cpu=max(self.running_cpu - 1, 0))
        return replace(self, running_gpu=max(self.running_gpu - 1, 0))

    def cap(self, resource: ResourceType) -> int | None:
        """Running tasks of `resource` at most: the quota plus what may be borrowed (None:
        no limit, with no quota or no limit on borrowing)."""
        quota, borrowing = self.quota.of(resource), self.borrowing.of(resource)
        return None if quota is None or borrowing is None else quota + borrowing

    def share(self, capacity: Mapping[ResourceType, int]) -> float:
        """Its dominant share divided by its weight: lower means further below its due."""
        return float(self.exact_share(capacity))

    def exact_share(self, capacity: Mapping[ResourceType, int]) -> Fraction:
        """`share` as an exact fraction, for comparisons that must not round."""
        return _dominant(self.running, capacity) / Fraction(self.weight)

    def room(self, resource: ResourceType) -> bool:
        """One more task on `resource` stays within the quota plus borrowing."""
        return self._rooms[resource][0]

    def borrowing_for(self, resource: ResourceType) -> bool:
        """One more task on `resource` would run past the quota (on borrowed capacity)."""
        return self._rooms[resource][1]

    @functools.cached_property
    def _contenders(self) -> "dict[tuple[frozenset[ResourceType], int, int], _Contender]":
        """This state as each choice that saw it (by the types it wanted and the capacity),
        kept with the state: a placement changes one tenant's state, the others' stay."""
        return {}

    @functools.cached_property
    def _rooms(self) -> dict[ResourceType, tuple[bool, bool]]:
        """(room, borrowing) per resource type, worked out once per state (the scheduler
        keeps a tenant's state until its slots or settings change, and asks on every
        placement)."""
        rooms = {}
        for resource in _KINDS:
            cap, quota, running = (
                self.cap(resource),
                self.quota.of(resource),
                self.running_of(resource),
            )
            rooms[resource] = (
                cap is None or running + 1 <= cap,
                quota is not None and running >= quota,
            )
        return rooms


class Verdict(StrEnum):
    """What became of a competing tenant in a choice."""

    CHOSEN = "chosen"
    AT_QUOTA = "at quota"
    """No room on any resource type it could be placed on."""
    OVER_SHARE = "over its share"
    """In the winner's group, with a higher share (or a tie lost on order key or name)."""
    BORROWING_WAITS = "borrowing waits"
    """Could be placed only by borrowing, while a tenant within its quota was chosen."""


@dataclass(frozen=True)
class TenantFigure:
    """One competing tenant as the choice saw it (constant size: no task lists)."""

    name: str
    weight: float
    running_cpu: int
    running_gpu: int
    quota_cpu: int | None
    quota_gpu: int | None
    cap_cpu: int | None
    cap_gpu: int | None
    share: float
    verdict: Verdict


@dataclass(frozen=True)
class FairShareChoice:
    """Which tenant places next (None: none has room) and on which resource types, with a
    figure per competing tenant (sorted by name) and a one-line summary."""

    tenant: str | None
    resources: frozenset[ResourceType]
    figures: tuple[TenantFigure, ...]
    summary: str
    reasons: Mapping[str, str] = field(default_factory=dict)
    """Why each competing tenant but the chosen one waits, as the summary says it (with
    `figures` only: the summary names at most SUMMARY_OTHERS)."""


class _Contender(NamedTuple):
    """A competing tenant in one choice (a tuple: one is made per tenant per placement)."""

    state: TenantState
    rough: float
    """Its share as a float: compared exactly (`exact`) only where floats come close."""
    exact: Callable[[], Fraction]
    wanted: list[ResourceType]
    open: list[ResourceType]
    """Wanted types with room."""
    within: list[ResourceType]
    """Wanted types with room where a placement stays within the quota."""


def _contender(
    state: TenantState, asked: frozenset[ResourceType], cpu_total: int, gpu_total: int
) -> _Contender:
    """A tenant as one choice sees it, wanting the `asked` resource types of a capacity."""
    rooms = state._rooms
    wanted = [resource for resource in _KINDS if resource in asked]
    open_ = [resource for resource in wanted if rooms[resource][0]]
    within = [resource for resource in open_ if not rooms[resource][1]]
    capacity = {CPU: cpu_total, GPU: gpu_total}
    exact = functools.partial(state.exact_share, capacity)  # called for a few only
    dominant = max(
        state.running_cpu / cpu_total if cpu_total > 0 else 0.0,
        state.running_gpu / gpu_total if gpu_total > 0 else 0.0,
    )
    return _Contender(state, dominant / state.weight, exact, wanted, open_, within)


def choose(
    tenants: Sequence[TenantState],
    wanting: Mapping[str, frozenset[ResourceType]],
    capacity: Mapping[ResourceType, int],
    order: Mapping[str, tuple[int, ...]],
    figures: bool = True,
) -> FairShareChoice:
    """The tenant whose task is placed next. `wanting[name]`: the resource types its next
    task could be placed on now (tenants absent or with an empty set do not compete);
    `order[name]`: the queue order key of its head task, for ties (required for every
    competing tenant). A name in `wanting` with no state in `tenants`, or a name twice
    in `tenants`, is the caller's mistake and raises ValueError. `figures`: False leaves
    the per-tenant figures out (the scheduler records its own inputs); the summary names
    at most SUMMARY_OTHERS tenants besides the chosen one.

    Shares are compared as floats, and exactly (as fractions) among those within NEAR of
    the lowest, so the choice is the exact one at the cost of a float comparison each."""
    states = {state.name: state for state in tenants}
    if len(states) != len(tenants):
        raise ValueError("each tenant may appear only once in `tenants`")
    unknown = sorted(name for name, wanted in wanting.items() if wanted and name not in states)
    if unknown:
        raise ValueError(f"tenants wanting a slot with no state given: {', '.join(unknown)}")
    contenders: list[_Contender] = []
    cpu_total, gpu_total = capacity.get(CPU, 0), capacity.get(GPU, 0)
    for name in sorted(name for name in states if wanting.get(name)):
        state = states[name]
        key = (wanting[name], cpu_total, gpu_total)
        contender = state._contenders.get(key)
        if contender is None:
            contender = state._contenders[key] = _contender(state, *key)
        contenders.append(contender)
    missing = [c.state.name for c in contenders if c.state.name not in order]
    if missing:
        raise ValueError(f"no queue order key for competing tenants: {', '.join(missing)}")

    group = [c for c in contenders if c.within] or [c for c in contenders if c.open]
    if not group:
        at_quota = tuple(_figure(c, Verdict.AT_QUOTA) for c in contenders) if figures else ()
        waits = [f"{c.state.name} waits: {_at_quota(c)}" for c in contenders[:SUMMARY_OTHERS]]
        if len(contenders) > SUMMARY_OTHERS:
            waits.append(f"and {len(contenders) - SUMMARY_OTHERS} more wait")
        summary = "; ".join(["no tenant chosen", *waits]) if waits else "no tenant is waiting"
        reasons = {c.state.name: _at_quota(c) for c in contenders} if figures else {}
        return FairShareChoice(None, frozenset(), at_quota, summary, reasons)

    lowest = min(c.rough for c in group)
    close = [c for c in group if c.rough <= lowest + NEAR * max(1.0, lowest)]
    best = min(close, key=lambda c: (c.exact(), order[c.state.name], c.state.name))
    borrowing = not best.within
    resources = best.open if borrowing else best.within
    shown = tuple(_figure(c, _verdict(c, best)) for c in contenders) if figures else ()
    chosen = f"{best.state.name} chosen at {_number(best.exact())} of its share"
    if borrowing:
        chosen += " (borrowing past its quota: no tenant within its quota wants a slot)"
    others = [c for c in contenders if c is not best]
    waits = [
        f"{c.state.name} waits: {_why(c, best, _verdict(c, best), order)}"
        for c in others[:SUMMARY_OTHERS]
    ]
    if len(others) > SUMMARY_OTHERS:
        waits.append(f"and {len(others) - SUMMARY_OTHERS} more wait")
    reasons = (
        {c.state.name: _why(c, best, _verdict(c, best), order) for c in others} if figures else {}
    )
    return FairShareChoice(
        best.state.name, frozenset(resources), shown, "; ".join([chosen, *waits]), reasons
    )


def _verdict(contender: _Contender, best: _Contender) -> Verdict:
    if contender is best:
        return Verdict.CHOSEN
    if not contender.open:
        return Verdict.AT_QUOTA
    if best.within and not contender.within:
        return Verdict.BORROWING_WAITS
    return Verdict.OVER_SHARE


def _why(
    contender: _Contender,
    best: _Contender,
    verdict: Verdict,
    order: Mapping[str, tuple[int, ...]],
) -> str:
    state = contender.state
    if verdict is Verdict.AT_QUOTA:
        return _at_quota(contender)
    if verdict is Verdict.BORROWING_WAITS:
        used = ", ".join(f"{state.running_of(r)}/{state.quota.of(r)} {r}" for r in contender.open)
        return f"borrowing waits (quota {used} used; {best.state.name} is within its quota)"
    if contender.rough > best.rough * (1 + NEAR) + NEAR or contender.exact() > best.exact():
        return f"over its share ({_number(contender.exact())} > {_number(best.exact())})"
    if order[state.name] != order[best.state.name]:
        return f"over its share (tie at {_number(contender.exact())}, queued later)"
    return f"over its share (tie at {_number(contender.exact())}, name after {best.state.name})"


def _at_quota(contender: _Contender) -> str:
    """Why a tenant has no room: each wanted type's running count against its quota, the
    borrowed part shown apart (`4+2/4 cpu`) when it may borrow."""
    state = contender.state
    parts = []
    for resource in contender.wanted:
        running, quota = state.running_of(resource), state.quota.of(resource)
        borrowing = state.borrowing.of(resource)
        if quota is None or not borrowing:
            parts.append(f"{running}/{quota} {resource}")
        else:
            parts.append(f"{quota}+{running - quota}/{quota} {resource}")
    return "at quota " + ", ".join(parts)


def _figure(contender: _Contender, verdict: Verdict) -> TenantFigure:
    state = contender.state
    cpu, gpu = ResourceType.CPU, ResourceType.GPU
    return TenantFigure(
        state.name,
        state.weight,
        state.running_cpu,
        state.running_gpu,
        state.quota.cpu,
        state.quota.gpu,
        state.cap(cpu),
        state.cap(gpu),
        _rounded(contender.exact()),
        verdict,
    )


def _rounded(share: Fraction) -> float:
    return round(float(share), SHARE_DIGITS)


def _number(share: Fraction) -> str:
    """A share for people: at most six decimals, no trailing zeros (0.25, 0.333333, 2)."""
    return f"{_rounded(share):.{SHARE_DIGITS}f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class RunningTask:
    """A running task as preemption sees it; `started` is when its attempt started, in
    microseconds since the epoch (larger: newer)."""

    task_id: str
    tenant: str
    priority: int
    resource: ResourceType
    preemptible: bool
    started: int


@dataclass(frozen=True)
class Preemption:
    """The one task to stop so the beneficiary's task can take its slot, and the rule that
    picked it (shares rounded as in figures; the beneficiary's counts the slot)."""

    victim: str
    victim_tenant: str
    beneficiary_tenant: str
    rule: str
    victim_share: float
    beneficiary_share: float


def choose_victim(
    beneficiary: TenantState,
    resource: ResourceType,
    beneficiary_priority: int,
    running: Sequence[RunningTask],
    tenants: Mapping[str, TenantState],
    capacity: Mapping[ResourceType, int],
    within_tenant: bool = True,
) -> Preemption | None:
    """The task to preempt for the beneficiary's task of `beneficiary_priority` on
    `resource`, by the policy in the module docstring; None when no task qualifies."""
    own = beneficiary.name
    current = beneficiary.exact_share(capacity)
    claims = beneficiary.room(resource) and not beneficiary.borrowing_for(resource)
    after = beneficiary.placed(resource).exact_share(capacity)
    shares: dict[str, Fraction] = {}
    remaining: dict[str, Fraction] = {}
    """Each victim tenant's share once it has lost one task on `resource`."""
    best: RunningTask | None = None
    best_key: tuple[Fraction, int, int, str] | None = None
    for task in running:
        if task.resource is not resource or not task.preemptible:
            continue
        if task.tenant == own:
            if not within_tenant or task.priority >= beneficiary_priority:
                continue
            share = current
        else:
            state = tenants.get(task.tenant)
            if not claims or state is None:
                continue
            if task.tenant not in shares:
                shares[task.tenant] = state.exact_share(capacity)
                remaining[task.tenant] = state.released(resource).exact_share(capacity)
            share, left = shares[task.tenant], remaining[task.tenant]
            if left < after or left <= current:
                continue
        key = (-share, task.priority, -task.started, task.task_id)
        if best_key is None or key < best_key:
            best, best_key = task, key
    if best is None or best_key is None:
        return None
    victim_share = -best_key[0]
    if best.tenant == own:
        rule = (
            f"{own}'s own lower priority task ({best.priority} < {beneficiary_priority}): "
            "lowest priority, newest"
        )
        return Preemption(best.task_id, own, own, rule, _rounded(current), _rounded(current))
    rule = (
        f"{best.tenant} over its share ({_number(victim_share)}; "
        f"{_number(remaining[best.tenant])} without the task >= {own}'s {_number(after)} "
        "with it): lowest priority, newest"
    )
    return Preemption(best.task_id, best.tenant, own, rule, _rounded(victim_share), _rounded(after))
