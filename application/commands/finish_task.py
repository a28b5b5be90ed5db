"""CompleteTask and FailTask: both end processing and free the pool's slot."""

from dataclasses import dataclass

from application.aggregates import Change
from application.commands.loading import existing_pool, existing_task
from application.messages import Command, CommandResult
from application.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class CompleteTask(Command):
    task_id: str


@dataclass(frozen=True)
class FailTask(Command):
    task_id: str
    reason: str = "failed"


def complete_task(command: CompleteTask, uow: UnitOfWork) -> CommandResult:
    task_loaded, task = existing_task(uow, command.task_id)
    completed = task.complete(uow.clock.now())
    pool_loaded, pool = existing_pool(uow, completed.pool_id)
    released = pool.release(task.id, "completed")
    recorded = uow.save(Change(task_loaded, [completed]), Change(pool_loaded, [released]))
    return CommandResult(task.id, tuple(recorded))


def fail_task(command: FailTask, uow: UnitOfWork) -> CommandResult:
    task_loaded, task = existing_task(uow, command.task_id)
    failed = task.fail(command.reason, uow.clock.now())
    pool_loaded, pool = existing_pool(uow, failed.pool_id)
    released = pool.release(task.id, "failed")
    recorded = uow.save(Change(task_loaded, [failed]), Change(pool_loaded, [released]))
    return CommandResult(task.id, tuple(recorded))
