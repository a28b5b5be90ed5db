"""Verification's tenant checks, each on the state the scheduler decided on, rebuilt from
the log (`TenantTrail.at`):

- a decision's tenant stage recorded every competing tenant's settings and running tasks
  as the log gives them at its `seen` (plus its run's own assignments after it), and the
  capacity of the pools that took tasks then;
- no placement takes a tenant past its quota plus borrowing (as its settings stood when
  the decision was made: a quota lowered since stops new placements, never running tasks);
- a preemption stopped a preemptible task, never one of the beneficiary's own tenant
  with a priority not below the beneficiary's, when no slot of its type was free, and
  `fair_share.choose_victim` on the rebuilt state chooses the same victim by the same
  rule with the same shares."""

from collections.abc import Mapping, Sequence
from typing import Any

from application.audit.tenant_trail import Seen, TenantTrail
from domain.scheduling import PoolSnapshot
from domain.scheduling.fair_share import RunningTask, TenantState, choose_victim
from domain.scheduling.tenant_stage import TenantStage
from domain.tenant import Tenant
from domain.values import Algorithm, Limits, ResourceType

CPU, GPU = ResourceType.CPU, ResourceType.GPU


def capacity_of(board: Sequence[PoolSnapshot]) -> dict[ResourceType, int]:
    """Slots per resource type over the pools that take tasks, as the scheduler counts."""
    capacity = dict.fromkeys(ResourceType, 0)
    for pool in board:
        if not pool.draining:
            capacity[pool.resource_type] += pool.capacity
    return capacity


def stage_difference(
    stage: TenantStage, seen: Seen, board: Sequence[PoolSnapshot], at: int
) -> str | None:
    """How a decision's tenant stage differs from the tenants and pools at its `seen` (`at`)
    as the log gives them (None if it does not)."""
    capacity = capacity_of(board)
    if (stage.capacity_cpu, stage.capacity_gpu) != (capacity[CPU], capacity[GPU]):
        return (
            f"the tenant stage counted {stage.capacity_cpu} cpu and {stage.capacity_gpu} gpu "
            f"slots, the log gives {capacity[CPU]} and {capacity[GPU]} at position {at}"
        )
    for row in stage.tenants:
        settings = seen.tenant(row.name)
        recorded = Tenant(
            row.name,
            row.weight,
            Limits(row.quota_cpu, row.quota_gpu),
            Limits(row.borrowing_cpu, row.borrowing_gpu),
        )
        if recorded != settings:
            return (
                f"the tenant stage used {row.name}'s settings {_settings(recorded)}, the log "
                f"gives {_settings(settings)} at position {at}"
            )
        counts = (seen.count(row.name, CPU), seen.count(row.name, GPU))
        if (row.running_cpu, row.running_gpu) != counts:
            return (
                f"the tenant stage says {row.name} ran {row.running_cpu} cpu and "
                f"{row.running_gpu} gpu tasks, the log gives {counts[0]} and {counts[1]} "
                f"at position {at}"
            )
    return None


def over_cap(trail: TenantTrail, task_id: str, resource: ResourceType, seen: int) -> str | None:
    """Why placing `task_id` on `resource` now takes its tenant past its quota plus
    borrowing as they stood at `seen` (None if it does not)."""
    tenant = trail.facts_of(task_id).tenant
    settings = trail.tenant_at(seen, tenant)
    cap = settings.cap(resource)
    running = trail.counts.get((tenant, resource), 0)
    if cap is None or running + 1 <= cap:
        return None
    return (
        f"tenant {tenant} placed past its quota plus borrowing: {running + 1} {resource} "
        f"tasks running, at most {cap}"
    )


def preemption_findings(
    data: Mapping[str, Any], trail: TenantTrail, board: Sequence[PoolSnapshot]
) -> tuple[str | None, str | None]:
    """(the rule a preemption broke, how it differs from the choice made again on the
    state at its `seen`): each None if there is none. `board`: the pools at `seen`."""
    victim, beneficiary = data["task_id"], data["beneficiary"]
    own, theirs = trail.facts_of(victim), trail.facts_of(beneficiary)
    if not own.preemptible:
        return f"task {victim} was preempted, but it is not preemptible", None
    if own.tenant == theirs.tenant and own.priority >= theirs.priority:
        return (
            f"task {victim} was preempted for {beneficiary} of its own tenant {own.tenant}, "
            f"whose priority {theirs.priority} is not above its {own.priority}"
        ), None
    seen = trail.at(data["seen"], data["run"], slots=True)
    assert seen.slots is not None
    slot = seen.slots.get(victim)
    at = data["seen"]
    if slot is None:
        return None, f"task {victim} was not running at position {at}"
    resource = slot.resource
    if sum(pool.free for pool in board if pool.resource_type is resource):
        return None, f"a {resource} slot was free at position {at}"
    taking = {pool.pool_id for pool in board if not pool.draining}
    running = [
        RunningTask(s.task_id, s.tenant, s.priority, s.resource, True, s.started_us)
        for s in seen.slots.values()
        if s.preemptible and s.resource is resource and s.pool_id in taking
    ]
    names = {task.tenant for task in running} | {theirs.tenant}
    states = {
        name: TenantState.of(
            seen.tenant(name), {kind: seen.count(name, kind) for kind in ResourceType}
        )
        for name in names
    }
    capacity = capacity_of(board)
    within = seen.algorithm is Algorithm.PRIORITY
    again = choose_victim(
        states[theirs.tenant], resource, theirs.priority, running, states, capacity, within
    )
    if again is None:
        return None, f"on the state at position {at} no task qualifies as a victim"
    made = (again.victim, again.rule, again.victim_share, again.beneficiary_share)
    recorded = (victim, data["rule"], data["victim_share"], data["beneficiary_share"])
    if made != recorded:
        return None, (
            f"recorded victim {victim} by {data['rule']!r} at shares {data['victim_share']} > "
            f"{data['beneficiary_share']}; the state at position {at} chooses {again.victim} "
            f"by {again.rule!r} at {again.victim_share} > {again.beneficiary_share}"
        )
    return None, None


def _settings(tenant: Tenant) -> str:
    return (
        f"weight {tenant.weight:g}, quota {tenant.quota.cpu}/{tenant.quota.gpu}, "
        f"borrowing {tenant.borrowing.cpu}/{tenant.borrowing.gpu} (cpu/gpu)"
    )
