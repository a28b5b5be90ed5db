from dataclasses import dataclass

from application.aggregates import Change
from application.commands.loading import existing_pool, existing_task
from application.messages import Command, CommandResult
from application.unit_of_work import UnitOfWork
from domain.scheduling import Decision, DecisionRecord


@dataclass(frozen=True)
class AssignWorker(Command):
    task_id: str
    pool_id: str
    decision: DecisionRecord | Decision
    after: str | None = None
    """The task the scheduler assigned just before, in the same round: this decision
    counted its slot as taken, so it is recorded only if that assignment was."""


def assign_worker(command: AssignWorker, uow: UnitOfWork) -> CommandResult:
    """Writes the task and the pool together: a stale pool version writes nothing."""
    task_loaded, task = existing_task(uow, command.task_id)
    pool_loaded, pool = existing_pool(uow, command.pool_id)
    decision = command.decision
    if command.after is not None and isinstance(decision, DecisionRecord):
        _, previous = existing_task(uow, command.after)
        previous.check_assigned_in(decision.run, decision.seen, task.id)
    assigned = task.assign(pool, command.decision, uow.clock.now())
    claimed = pool.claim(task.id, task.attempt + 1)
    recorded = uow.save(Change(task_loaded, [assigned]), Change(pool_loaded, [claimed]))
    return CommandResult(task.id, tuple(recorded))
