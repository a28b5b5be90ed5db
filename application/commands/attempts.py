"""Saving what a task decided, and freeing its pool slot in the same write when the
decision ends the attempt that held it."""

from collections.abc import Sequence

from application.aggregates import Change, Loaded
from application.commands.loading import existing_pool
from application.messages import CommandResult
from application.unit_of_work import UnitOfWork
from domain.errors import LeaseRequired
from domain.events import DomainEvent
from domain.task import Task
from domain.values import Execution, TaskStatus

OUTCOMES = {
    "TaskCompleted": "completed",
    "TaskFailed": "failed",
    "TaskLeaseExpired": "lease expired",
    "TaskReleased": "released",
    "TaskPreempted": "preempted",
    "TaskCancelled": "cancelled",
}


def save_task(
    uow: UnitOfWork,
    loaded: Loaded[Task],
    task: Task,
    events: Sequence[DomainEvent],
    reported_without_lease: bool = False,
) -> CommandResult:
    """`reported_without_lease`: a report (complete, fail) that came without a lease
    token, which only a simulated pool's task may do."""
    changes = [Change(loaded, events)]
    after = task
    for event in events:
        after = after.when(event)
    if task.status is TaskStatus.PROCESSING and after.status is not TaskStatus.PROCESSING:
        assert task.pool_id is not None
        pool_loaded, pool = existing_pool(uow, task.pool_id)
        if reported_without_lease and pool.execution is Execution.EXTERNAL:
            raise LeaseRequired(task.id, pool.name)
        outcome = OUTCOMES[events[0].type_name()]
        changes.append(Change(pool_loaded, [pool.release(task.id, outcome)]))
    return CommandResult(task.id, tuple(uow.save(*changes)))
