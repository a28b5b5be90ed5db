from dataclasses import dataclass

from application.aggregates import Change
from application.commands.loading import existing_task
from application.messages import Command, CommandResult
from application.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class CancelTask(Command):
    task_id: str
    reason: str = "cancelled by request"


def cancel_task(command: CancelTask, uow: UnitOfWork) -> CommandResult:
    loaded, task = existing_task(uow, command.task_id)
    cancelled = task.cancel(command.reason, uow.clock.now())
    return CommandResult(task.id, tuple(uow.save(Change(loaded, [cancelled]))))
