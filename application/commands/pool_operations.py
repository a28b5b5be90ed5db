"""Operating a pool: draining it (no new tasks; running ones finish), resuming it, and
handing its tasks to the simulator or to external workers."""

from dataclasses import dataclass

from application.aggregates import Change
from application.commands.loading import existing_pool
from application.messages import Command, CommandResult
from application.unit_of_work import UnitOfWork
from domain.values import Execution


@dataclass(frozen=True)
class DrainPool(Command):
    pool_id: str


@dataclass(frozen=True)
class ResumePool(Command):
    pool_id: str


@dataclass(frozen=True)
class ChangePoolExecution(Command):
    pool_id: str
    execution: Execution


def drain_pool(command: DrainPool, uow: UnitOfWork) -> CommandResult:
    loaded, pool = existing_pool(uow, command.pool_id)
    return CommandResult(pool.id, tuple(uow.save(Change(loaded, pool.drain(uow.clock.now())))))


def resume_pool(command: ResumePool, uow: UnitOfWork) -> CommandResult:
    loaded, pool = existing_pool(uow, command.pool_id)
    return CommandResult(pool.id, tuple(uow.save(Change(loaded, pool.resume(uow.clock.now())))))


def change_pool_execution(command: ChangePoolExecution, uow: UnitOfWork) -> CommandResult:
    loaded, pool = existing_pool(uow, command.pool_id)
    changed = pool.change_execution(command.execution, uow.clock.now())
    return CommandResult(pool.id, tuple(uow.save(Change(loaded, changed))))
