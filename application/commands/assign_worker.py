from dataclasses import dataclass

from application.aggregates import Change
from application.commands.loading import existing_pool, existing_task
from application.messages import Command, CommandResult
from application.unit_of_work import UnitOfWork
from domain.scheduling import Decision


@dataclass(frozen=True)
class AssignWorker(Command):
    task_id: str
    pool_id: str
    decision: Decision


def assign_worker(command: AssignWorker, uow: UnitOfWork) -> CommandResult:
    """Writes the task and the pool together: a stale pool version writes nothing."""
    task_loaded, task = existing_task(uow, command.task_id)
    pool_loaded, pool = existing_pool(uow, command.pool_id)
    assigned = task.assign(pool, command.decision, uow.clock.now())
    claimed = pool.claim(task.id, task.attempt + 1)
    recorded = uow.save(Change(task_loaded, [assigned]), Change(pool_loaded, [claimed]))
    return CommandResult(task.id, tuple(recorded))
