"""Creating and changing tenants (see `domain.tenant`)."""

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from application.aggregates import Change
from application.commands.loading import tenant_of
from application.messages import Command, CommandResult
from application.unit_of_work import UnitOfWork
from domain.errors import InvalidValue, TenantAlreadyExists
from domain.tenant import DEFAULT_TENANT, Tenant, check_name, tenant_stream
from domain.values import NO_BORROWING, NO_LIMITS, Limits


@dataclass(frozen=True)
class CreateTenant(Command):
    name: str
    weight: float = 1.0
    quota: Limits = NO_LIMITS
    borrowing: Limits = NO_BORROWING


@dataclass(frozen=True)
class ChangeTenant(Command):
    """Settings left None stay as they are; `quota` and `borrowing` give new limits by
    resource type (`cpu`, `gpu`), the types not given keep theirs."""

    name: str
    weight: float | None = None
    quota: Mapping[str, int | None] | None = None
    borrowing: Mapping[str, int | None] | None = None


def create_tenant(command: CreateTenant, uow: UnitOfWork) -> CommandResult:
    check_name(command.name)
    loaded = uow.aggregates.load(tenant_stream(command.name), Tenant.start)
    if loaded.state is not None or command.name == DEFAULT_TENANT:
        raise TenantAlreadyExists(command.name)
    created = Tenant.create(
        command.name, command.weight, command.quota, command.borrowing, uow.clock.now()
    )
    return CommandResult(command.name, tuple(uow.save(Change(loaded, [created]))))


def change_tenant(command: ChangeTenant, uow: UnitOfWork) -> CommandResult:
    loaded, tenant = tenant_of(uow, command.name)
    changed = tenant.change(
        uow.clock.now(),
        command.weight,
        _merged(tenant.quota, command.quota, "quota"),
        _merged(tenant.borrowing, command.borrowing, "borrowing"),
    )
    return CommandResult(command.name, tuple(uow.save(Change(loaded, changed))))


def _merged(limits: Limits, changes: Mapping[str, int | None] | None, what: str) -> Limits | None:
    if changes is None:
        return None
    unknown = set(changes) - {field.name for field in fields(Limits)}
    if unknown:
        raise InvalidValue(f"{what} has no resource type {', '.join(sorted(unknown))}")
    return replace(limits, **changes)
