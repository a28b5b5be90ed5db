from dataclasses import dataclass

from application.aggregates import Change
from application.commands.loading import existing_task
from application.messages import Command, CommandResult
from application.unit_of_work import UnitOfWork
from domain.scheduling import Decision, DecisionRecord


@dataclass(frozen=True)
class DeferTask(Command):
    task_id: str
    decision: DecisionRecord | Decision


def defer_task(command: DeferTask, uow: UnitOfWork) -> CommandResult:
    loaded, task = existing_task(uow, command.task_id)
    deferred = task.defer(command.decision, uow.clock.now())
    return CommandResult(task.id, tuple(uow.save(Change(loaded, [deferred]))))
