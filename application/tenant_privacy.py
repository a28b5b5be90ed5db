"""What a key bound to one tenant reads of the others: nothing that names them.

A task's decisions can list the other tenants that competed for the slot (a decision's
tenant stage), and a preemption names the task it made room for and that task's tenant.
For a key bound to a tenant they are cut to what concerns its own tenant: its own row of
the stage, the other tenants counted, not named; the preemption's beneficiary as "another
tenant", its task id left out. The figures a tenant may know of itself stay."""

from typing import Any

OTHER = "another tenant"
STAGE_COLUMNS = (
    "names", "weights", "quota_cpu", "quota_gpu", "borrowing_cpu", "borrowing_gpu",
    "running_cpu", "running_gpu", "wanting", "order",
)  # fmt: skip
"""The per-tenant columns of a recorded tenant stage (`domain.scheduling.tenant_stage`)."""


def stage_view_for(stage: dict[str, Any] | None, tenant: str) -> dict[str, Any] | None:
    """A decision's tenant stage view (`explain.tenant_stage_view`) as `tenant` may read it."""
    if stage is None:
        return None
    own = [row for row in stage["tenants"] if row["name"] == tenant]
    others = len(stage["tenants"]) - len(own)
    chosen = stage["chosen"] == tenant
    why = own[0].get("why") if own else None
    return {
        **stage,
        "chosen": tenant if chosen else OTHER,
        "summary": _summary(stage["summary"], tenant, chosen, why, others),
        "tenants": own,
    }


def event_view_for(event: dict[str, Any], tenant: str) -> dict[str, Any]:
    """A stored event's view (`type`, `payload`, ...) as `tenant` may read it."""
    payload = event.get("payload")
    if not isinstance(payload, dict):
        return event
    if event.get("type") == "TaskPreempted" and payload.get("beneficiary_tenant") != tenant:
        beneficiary = payload.get("beneficiary_tenant")
        rule = str(payload.get("rule", "")).replace(f"{beneficiary}'s", f"{OTHER}'s")
        redacted = {**payload, "beneficiary": None, "beneficiary_tenant": OTHER, "rule": rule}
        return {**event, "payload": redacted}
    decision = payload.get("decision")
    if isinstance(decision, dict) and isinstance(decision.get("tenants"), dict):
        stage = _recorded_stage_for(decision["tenants"], tenant)
        return {**event, "payload": {**payload, "decision": {**decision, "tenants": stage}}}
    return event


def _recorded_stage_for(stage: dict[str, Any], tenant: str) -> dict[str, Any]:
    """A recorded tenant stage (column-wise) cut to `tenant`'s column."""
    names = list(stage.get("names", []))
    keep = [index for index, name in enumerate(names) if name == tenant]
    chosen = stage.get("chosen") == tenant
    cut = {
        column: [stage[column][index] for index in keep]
        for column in STAGE_COLUMNS
        if isinstance(stage.get(column), list)
    }
    summary = _summary(str(stage.get("summary", "")), tenant, chosen, None, len(names) - len(keep))
    return {**stage, **cut, "chosen": tenant if chosen else OTHER, "summary": summary}


def _summary(summary: str, tenant: str, chosen: bool, why: str | None, others: int) -> str:
    """The stage's summary naming only `tenant`: its own clause, and how many others
    competed."""
    competed = f"{others} other tenant{'' if others == 1 else 's'} competed"
    clauses = summary.split("; ")
    if chosen:
        return f"{clauses[0]}; {competed}"
    mine = f"{tenant} waits: "
    own = f"{mine}{why}" if why else next((c for c in clauses if c.startswith(mine)), None)
    return "; ".join([f"{OTHER} was chosen", own or f"{tenant} waited", competed])
