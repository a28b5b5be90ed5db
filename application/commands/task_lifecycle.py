"""The task's other turns: a delayed task's time coming, an attempt timing out, an
operator's retry of a failed task, and cancellation."""

from dataclasses import dataclass

from application.aggregates import Change
from application.commands.attempts import save_task
from application.commands.loading import existing_task
from application.messages import Command, CommandResult
from application.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class MarkTaskReady(Command):
    task_id: str


@dataclass(frozen=True)
class TimeOutTask(Command):
    task_id: str
    attempt: int


@dataclass(frozen=True)
class RetryTask(Command):
    task_id: str


@dataclass(frozen=True)
class CancelTask(Command):
    task_id: str
    reason: str = "cancelled by request"


def mark_task_ready(command: MarkTaskReady, uow: UnitOfWork) -> CommandResult:
    loaded, task = existing_task(uow, command.task_id)
    ready = task.ready(uow.clock.now())
    return CommandResult(task.id, tuple(uow.save(Change(loaded, [ready]))))


def time_out_task(command: TimeOutTask, uow: UnitOfWork) -> CommandResult:
    loaded, task = existing_task(uow, command.task_id)
    events = task.time_out(command.attempt, uow.clock.now(), uow.jitter())
    return save_task(uow, loaded, task, events)


def retry_task(command: RetryTask, uow: UnitOfWork) -> CommandResult:
    loaded, task = existing_task(uow, command.task_id)
    retried = task.retry_now(uow.clock.now())
    return CommandResult(task.id, tuple(uow.save(Change(loaded, [retried]))))


def cancel_task(command: CancelTask, uow: UnitOfWork) -> CommandResult:
    loaded, task = existing_task(uow, command.task_id)
    events = task.cancel(command.reason, uow.clock.now())
    if not events:
        return CommandResult(task.id, ())
    return save_task(uow, loaded, task, events)
