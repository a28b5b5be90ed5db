"""The lease protocol of external workers: take a task, keep it with heartbeats, give it
back; and the timekeeper's expiry of a lease nobody kept."""

from dataclasses import dataclass

from application.aggregates import Change
from application.commands.attempts import save_task
from application.commands.loading import existing_pool, existing_task
from application.messages import Command, CommandResult
from application.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class LeaseTask(Command):
    task_id: str
    pool_id: str
    worker_id: str
    lease_s: float


@dataclass(frozen=True)
class Heartbeat(Command):
    task_id: str
    lease_token: str
    lease_s: float


@dataclass(frozen=True)
class ReleaseTask(Command):
    task_id: str
    lease_token: str
    reason: str = "released by its worker"


@dataclass(frozen=True)
class ExpireLease(Command):
    task_id: str


def lease_task(command: LeaseTask, uow: UnitOfWork) -> CommandResult:
    _, pool = existing_pool(uow, command.pool_id)
    pool.check_external()
    loaded, task = existing_task(uow, command.task_id)
    leased = task.take_lease(
        pool.id, command.worker_id, uow.ids.new_id(), command.lease_s, uow.clock.now()
    )
    return CommandResult(task.id, tuple(uow.save(Change(loaded, [leased]))))


def heartbeat(command: Heartbeat, uow: UnitOfWork) -> CommandResult:
    """Records an extension only when the lease needs one (see Task.heartbeat)."""
    loaded, task = existing_task(uow, command.task_id)
    extended = task.heartbeat(command.lease_token, command.lease_s, uow.clock.now())
    if extended is None:
        return CommandResult(task.id, ())
    return CommandResult(task.id, tuple(uow.save(Change(loaded, [extended]))))


def release_task(command: ReleaseTask, uow: UnitOfWork) -> CommandResult:
    loaded, task = existing_task(uow, command.task_id)
    events = task.release(command.lease_token, command.reason, uow.clock.now())
    return save_task(uow, loaded, task, events)


def expire_lease(command: ExpireLease, uow: UnitOfWork) -> CommandResult:
    loaded, task = existing_task(uow, command.task_id)
    events = task.expire_lease(uow.clock.now(), uow.jitter())
    return save_task(uow, loaded, task, events)
