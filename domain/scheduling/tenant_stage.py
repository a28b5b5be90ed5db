"""The tenant stage of a decision as the log keeps it: which tenant's task went next, and
every figure it was chosen by, in constant space per competing tenant, so the choice can
be made again from the record alone (`again`) and explained ("team-a chosen at 0.25 of its
share; team-b waits: at quota 4/4 cpu").

A decision carries a stage only when fair share had a choice to make: several tenants
waiting, or one with a quota. A single tenant without quotas places exactly as without
tenants, and its decisions record no stage."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from domain.scheduling.fair_share import FairShareChoice, TenantState, choose
from domain.values import Limits, ResourceType

CPU, GPU = ResourceType.CPU, ResourceType.GPU


@dataclass(frozen=True)
class TenantInput:
    """One competing tenant as the stage saw it."""

    name: str
    weight: float
    quota_cpu: int | None
    quota_gpu: int | None
    borrowing_cpu: int | None
    borrowing_gpu: int | None
    running_cpu: int
    running_gpu: int
    wanting: tuple[ResourceType, ...]
    """The resource types its next task could be placed on (pools there had room)."""
    order: tuple[int, ...]
    """Its next task's place in the queue (the active algorithm's order key)."""

    def state(self) -> TenantState:
        return TenantState(
            self.name,
            self.weight,
            Limits(self.quota_cpu, self.quota_gpu),
            Limits(self.borrowing_cpu, self.borrowing_gpu),
            self.running_cpu,
            self.running_gpu,
        )


@dataclass(frozen=True)
class TenantStage:
    """Recorded column-wise (one tuple per figure, aligned with `names`), as decisions
    record their pools' verdicts: about 50 bytes of JSON per competing tenant."""

    chosen: str
    capacity_cpu: int
    capacity_gpu: int
    names: tuple[str, ...]
    weights: tuple[float, ...]
    quota_cpu: tuple[int | None, ...]
    quota_gpu: tuple[int | None, ...]
    borrowing_cpu: tuple[int | None, ...]
    borrowing_gpu: tuple[int | None, ...]
    running_cpu: tuple[int, ...]
    running_gpu: tuple[int, ...]
    wanting: tuple[str, ...]
    """The resource types each one's next task could use, as `cpu`, `gpu` or `cpu+gpu`."""
    order: tuple[tuple[int, ...], ...]
    summary: str

    @property
    def tenants(self) -> tuple[TenantInput, ...]:
        """The competing tenants, a row each."""
        columns = zip(
            self.names, self.weights, self.quota_cpu, self.quota_gpu, self.borrowing_cpu,
            self.borrowing_gpu, self.running_cpu, self.running_gpu, self.wanting, self.order,
            strict=True,
        )  # fmt: skip
        return tuple(
            TenantInput(name, weight, qc, qg, bc, bg, rc, rg, _kinds(wanting), order)
            for name, weight, qc, qg, bc, bg, rc, rg, wanting, order in columns
        )


_WANTING = {
    frozenset(kinds): "+".join(str(kind) for kind in kinds)
    for kinds in ((CPU,), (GPU,), (CPU, GPU))
}
"""A set of resource types as the record writes it (`cpu`, `gpu`, `cpu+gpu`)."""


def _kinds(wanting: str) -> tuple[ResourceType, ...]:
    return tuple(ResourceType(kind) for kind in wanting.split("+"))


def choice(
    states: Sequence[TenantState],
    wanting: Mapping[str, frozenset[ResourceType]],
    capacity: Mapping[ResourceType, int],
    order: Mapping[str, tuple[int, ...]],
) -> tuple[FairShareChoice, TenantStage | None]:
    """The fair-share choice among the tenants that want a slot, and its record (None when
    no tenant was chosen)."""
    made = choose(states, wanting, capacity, order, figures=False)
    if made.tenant is None:
        return made, None
    competing = sorted((state for state in states if wanting.get(state.name)),
                       key=lambda state: state.name)  # fmt: skip
    stage = TenantStage(
        made.tenant,
        capacity.get(CPU, 0),
        capacity.get(GPU, 0),
        tuple([state.name for state in competing]),
        tuple([state.weight for state in competing]),
        tuple([state.quota.cpu for state in competing]),
        tuple([state.quota.gpu for state in competing]),
        tuple([state.borrowing.cpu for state in competing]),
        tuple([state.borrowing.gpu for state in competing]),
        tuple([state.running_cpu for state in competing]),
        tuple([state.running_gpu for state in competing]),
        tuple([_WANTING[wanting[state.name]] for state in competing]),
        tuple([order[state.name] for state in competing]),
        made.summary,
    )
    return made, stage


def again(stage: TenantStage) -> str | None:
    """How the stage's choice made again from its figures differs from the recorded one
    (None if it does not)."""
    states = [tenant.state() for tenant in stage.tenants]
    wanting = {tenant.name: frozenset(tenant.wanting) for tenant in stage.tenants}
    order = {tenant.name: tenant.order for tenant in stage.tenants}
    capacity = {CPU: stage.capacity_cpu, GPU: stage.capacity_gpu}
    made = choose(states, wanting, capacity, order, figures=False)
    if made.tenant != stage.chosen:
        return f"the tenant stage chose {stage.chosen}, its figures choose {made.tenant}"
    if made.summary != stage.summary:
        return f"the tenant stage says {stage.summary!r}, its figures say {made.summary!r}"
    return None
