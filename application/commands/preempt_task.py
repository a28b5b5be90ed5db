"""The scheduler's preemption: stop a preemptible task's attempt so that a waiting task
can take its slot (the choice is fair share's, see `domain.scheduling.fair_share`)."""

from dataclasses import dataclass

from application.commands.attempts import save_task
from application.commands.loading import existing_pool, existing_task
from application.messages import Command, CommandResult
from application.unit_of_work import UnitOfWork
from domain.errors import TaskNotProcessing
from domain.task import PreemptionFacts


@dataclass(frozen=True)
class PreemptTask(Command):
    task_id: str
    beneficiary: str
    """The waiting task the slot is freed for."""
    facts: PreemptionFacts


def preempt_task(command: PreemptTask, uow: UnitOfWork) -> CommandResult:
    """Writes the victim's end of attempt and its pool's freed slot together."""
    loaded, victim = existing_task(uow, command.task_id)
    _, beneficiary = existing_task(uow, command.beneficiary)
    if victim.pool_id is None:
        raise TaskNotProcessing(victim.id, victim.status, "preempted")
    _, pool = existing_pool(uow, victim.pool_id)
    events = victim.preempt(beneficiary, pool, command.facts, uow.clock.now())
    return save_task(uow, loaded, victim, events)
