from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from application.aggregates import Change
from application.messages import Command, CommandResult
from application.unit_of_work import UnitOfWork
from domain.errors import TaskAlreadyExists
from domain.task import Task, task_stream
from domain.values import ResourceType, TaskType


@dataclass(frozen=True)
class SubmitTask(Command):
    type: TaskType
    priority: int
    cost: float
    region: str
    resource_type: ResourceType | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    task_id: str | None = None


def submit_task(command: SubmitTask, uow: UnitOfWork) -> CommandResult:
    task_id = command.task_id or uow.ids.new_id()
    loaded = uow.aggregates.load(task_stream(task_id), Task.start)
    if loaded.state is not None:
        raise TaskAlreadyExists(task_id)
    queued = Task.submit(
        task_id,
        command.type,
        command.priority,
        command.cost,
        command.region,
        command.resource_type,
        command.metadata,
        uow.clock.now(),
    )
    return CommandResult(task_id, tuple(uow.save(Change(loaded, [queued]))))
