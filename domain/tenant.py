"""The Tenant aggregate: a team sharing the router, with a weight and optional quotas.

A tenant's `weight` sets its share of the capacity when several tenants wait for it; its
`quota` caps its running tasks per resource type, and `borrowing` is how far past the
quota it may go on capacity other tenants leave idle (none unless given; None: no
limit). The `default`
tenant exists without being created (unbound keys and open mode submit there) with
weight 1 and no quota; it can be changed like any other.

Lowering a quota below what a tenant runs stops its new placements, never its running
tasks."""

import math
import re
from dataclasses import dataclass, replace
from datetime import datetime

from domain.errors import InvalidValue
from domain.events import DomainEvent, TenantChanged, TenantCreated
from domain.values import NO_BORROWING, NO_LIMITS, Limits, ResourceType

DEFAULT_TENANT = "default"
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
MAX_WEIGHT = 1000.0
MAX_LIMIT = 1_000_000
"""The largest quota or borrowing limit (running tasks of one resource type)."""


def tenant_stream(name: str) -> str:
    return f"tenant-{name}"


@dataclass(frozen=True)
class Tenant:
    name: str
    weight: float = 1.0
    quota: Limits = NO_LIMITS
    borrowing: Limits = NO_BORROWING

    @staticmethod
    def create(
        name: str,
        weight: float,
        quota: Limits,
        borrowing: Limits,
        now: datetime,
    ) -> TenantCreated:
        check_name(name)
        check_settings(weight, quota, borrowing)
        return TenantCreated(name, float(weight), quota, borrowing, now)

    def change(
        self,
        now: datetime,
        weight: float | None = None,
        quota: Limits | None = None,
        borrowing: Limits | None = None,
    ) -> list[TenantChanged]:
        """The new settings (those not given stay); a change that changes nothing records
        nothing."""
        changed = replace(
            self,
            weight=self.weight if weight is None else float(weight),
            quota=self.quota if quota is None else quota,
            borrowing=self.borrowing if borrowing is None else borrowing,
        )
        check_settings(changed.weight, changed.quota, changed.borrowing)
        if changed == self:
            return []
        return [TenantChanged(self.name, changed.weight, changed.quota, changed.borrowing, now)]

    def cap(self, resource: ResourceType) -> int | None:
        """Running tasks of `resource` at most: the quota plus what may be borrowed (None:
        no limit, with no quota or no limit on borrowing)."""
        quota, borrowing = self.quota.of(resource), self.borrowing.of(resource)
        return None if quota is None or borrowing is None else quota + borrowing

    @staticmethod
    def default() -> "Tenant":
        return Tenant(DEFAULT_TENANT)

    @staticmethod
    def start(event: DomainEvent) -> "Tenant":
        match event:
            case TenantCreated():
                return Tenant(event.tenant, event.weight, event.quota, event.borrowing)
            case TenantChanged() if event.tenant == DEFAULT_TENANT:
                return Tenant.default().when(event)
        raise TypeError(f"a tenant stream cannot begin with {event.type_name()}")

    def when(self, event: DomainEvent) -> "Tenant":
        if isinstance(event, TenantChanged):
            return replace(self, weight=event.weight, quota=event.quota, borrowing=event.borrowing)
        return self


def check_name(name: str) -> None:
    if not NAME.fullmatch(name):
        raise InvalidValue(
            "a tenant's name is 1 to 63 lowercase letters, digits, '.', '_' or '-', "
            f"beginning with a letter or digit; got {name!r}"
        )


def check_settings(weight: float, quota: Limits, borrowing: Limits) -> None:
    if not (math.isfinite(weight) and 0 < weight <= MAX_WEIGHT):
        raise InvalidValue(f"weight must be above 0 and at most {MAX_WEIGHT:g}, got {weight}")
    for what, limits in (("quota", quota), ("borrowing", borrowing)):
        for resource, value in (("cpu", limits.cpu), ("gpu", limits.gpu)):
            if value is not None and not 0 <= value <= MAX_LIMIT:
                raise InvalidValue(
                    f"{what}.{resource} must be between 0 and {MAX_LIMIT:,}, got {value}"
                )
