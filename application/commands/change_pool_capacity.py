from dataclasses import dataclass

from application.aggregates import Change
from application.commands.loading import existing_pool
from application.messages import Command, CommandResult
from application.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class ChangePoolCapacity(Command):
    pool_id: str
    capacity: int


def change_pool_capacity(command: ChangePoolCapacity, uow: UnitOfWork) -> CommandResult:
    loaded, pool = existing_pool(uow, command.pool_id)
    if command.capacity == pool.capacity:
        return CommandResult(pool.id, ())
    changed = pool.change_capacity(command.capacity, uow.clock.now())
    return CommandResult(pool.id, tuple(uow.save(Change(loaded, [changed]))))
