"""The tenant row: one per tenant, its settings. A tenant's events carry its whole
configuration, so each one sets the row (`row_of`); `view` is the row as the API returns
it, `default_view` the `default` tenant before anyone changed it (it has no events)."""

from typing import Any

from application.read_models.record import Recorded, Row
from domain.tenant import Tenant
from domain.values import Limits, TaskStatus

TYPES = frozenset({"TenantCreated", "TenantChanged"})
"""The event types that change this read model."""
COUNTED = (str(TaskStatus.QUEUED), str(TaskStatus.DELAYED), str(TaskStatus.PROCESSING))
"""The statuses of a tenant's tasks its view counts (waiting, and running)."""
STEP_S = 10
"""The attempts each tenant started and ended are counted per this many seconds (keyed
by the first): a busy tenant adds a row per step, not per second."""


def row_of(record: Recorded) -> Row:
    """The columns a tenant event sets (created_at only by TenantCreated)."""
    data = record.data
    quota, borrowing = data["quota"], data["borrowing"]
    row = {
        "name": data["tenant"],
        "weight": float(data["weight"]),
        "quota_cpu": quota["cpu"],
        "quota_gpu": quota["gpu"],
        "borrowing_cpu": borrowing["cpu"],
        "borrowing_gpu": borrowing["gpu"],
        "position": record.position,
    }
    if record.type == "TenantCreated":
        return {**row, "created_at": data["created_at"], "changed_at": None}
    return {**row, "changed_at": data["changed_at"]}


def view(row: Row) -> dict[str, Any]:
    """The tenant as the API shows it."""
    return {
        "name": row["name"],
        "weight": row["weight"],
        "quota": {"cpu": row["quota_cpu"], "gpu": row["quota_gpu"]},
        "borrowing": {"cpu": row["borrowing_cpu"], "gpu": row["borrowing_gpu"]},
        "created_at": row.get("created_at"),
        "changed_at": row.get("changed_at"),
    }


def default_view() -> dict[str, Any]:
    tenant = Tenant.default()
    quota, borrowing = tenant.quota, tenant.borrowing
    return view(
        {"name": tenant.name, "weight": tenant.weight, "quota_cpu": quota.cpu,
         "quota_gpu": quota.gpu, "borrowing_cpu": borrowing.cpu, "borrowing_gpu": borrowing.gpu}
    )  # fmt: skip


def tenant_of(row: Row) -> Tenant:
    """The tenant a row of this read model holds."""
    return Tenant(
        row["name"],
        float(row["weight"]),
        Limits(row["quota_cpu"], row["quota_gpu"]),
        Limits(row["borrowing_cpu"], row["borrowing_gpu"]),
    )
