"""CompleteTask and FailTask: a worker's report that ends an attempt and frees its slot.
A task in an external pool hears only from the worker holding its lease."""

from dataclasses import dataclass

from application.aggregates import Loaded
from application.commands.attempts import save_task
from application.commands.loading import existing_pool, existing_task
from application.messages import Command, CommandResult
from application.unit_of_work import UnitOfWork
from domain.errors import LeaseRequired
from domain.task import Task
from domain.values import Execution, TaskStatus


@dataclass(frozen=True)
class CompleteTask(Command):
    task_id: str
    lease_token: str | None = None


@dataclass(frozen=True)
class FailTask(Command):
    task_id: str
    reason: str = "failed"
    lease_token: str | None = None


def complete_task(command: CompleteTask, uow: UnitOfWork) -> CommandResult:
    loaded, task = _reported_on(uow, command.task_id, command.lease_token)
    completed = task.complete(uow.clock.now(), command.lease_token)
    return save_task(uow, loaded, task, [completed])


def fail_task(command: FailTask, uow: UnitOfWork) -> CommandResult:
    loaded, task = _reported_on(uow, command.task_id, command.lease_token)
    events = task.fail(command.reason, uow.clock.now(), uow.jitter(), command.lease_token)
    return save_task(uow, loaded, task, events)


def _reported_on(
    uow: UnitOfWork, task_id: str, lease_token: str | None
) -> tuple[Loaded[Task], Task]:
    loaded, task = existing_task(uow, task_id)
    if lease_token is None and task.status is TaskStatus.PROCESSING and task.pool_id:
        _, pool = existing_pool(uow, task.pool_id)
        if pool.execution is Execution.EXTERNAL:
            raise LeaseRequired(task.id, pool.name)
    return loaded, task
