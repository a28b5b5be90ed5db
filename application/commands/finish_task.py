"""CompleteTask and FailTask: a worker's report that ends an attempt and frees its slot.
A task in an external pool hears only from the worker holding its lease."""

from dataclasses import dataclass

from application.commands.attempts import save_task
from application.commands.loading import existing_task
from application.messages import Command, CommandResult
from application.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class CompleteTask(Command):
    task_id: str
    lease_token: str | None = None
    attempt: int | None = None
    """The attempt reported on, when the reporter knows it (the simulator)."""


@dataclass(frozen=True)
class FailTask(Command):
    task_id: str
    reason: str = "failed"
    lease_token: str | None = None
    attempt: int | None = None


def complete_task(command: CompleteTask, uow: UnitOfWork) -> CommandResult:
    loaded, task = existing_task(uow, command.task_id)
    completed = task.complete(uow.clock.now(), command.lease_token, command.attempt)
    return save_task(uow, loaded, task, [completed], command.lease_token is None)


def fail_task(command: FailTask, uow: UnitOfWork) -> CommandResult:
    loaded, task = existing_task(uow, command.task_id)
    events = task.fail(
        command.reason, uow.clock.now(), uow.jitter(), command.lease_token, command.attempt
    )
    return save_task(uow, loaded, task, events, command.lease_token is None)
