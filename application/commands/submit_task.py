from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from application.aggregates import Change, Loaded
from application.commands.loading import tenant_of
from application.messages import Command, CommandResult
from application.unit_of_work import UnitOfWork
from domain.errors import TaskAlreadyExists, TenantNotFound, UnknownTenant
from domain.retry import RetryPolicy
from domain.task import Task, task_stream
from domain.tenant import DEFAULT_TENANT
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
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout_s: float | None = None
    not_before: datetime | None = None
    tenant: str = DEFAULT_TENANT
    preemptible: bool = False


def submit_task(command: SubmitTask, uow: UnitOfWork) -> CommandResult:
    if command.tenant != DEFAULT_TENANT:
        try:
            tenant_of(uow, command.tenant)
        except TenantNotFound:
            raise UnknownTenant(command.tenant) from None
    if command.task_id is None:
        loaded = Loaded(task_stream(uow.ids.new_id()), None, 0, Task.start)
    else:
        loaded = uow.aggregates.load(task_stream(command.task_id), Task.start)
        if loaded.state is not None:
            raise TaskAlreadyExists(command.task_id)
    task_id = loaded.stream_id.removeprefix("task-")
    queued = Task.submit(
        task_id,
        command.type,
        command.priority,
        command.cost,
        command.region,
        command.resource_type,
        command.metadata,
        uow.clock.now(),
        command.retry,
        command.timeout_s,
        command.not_before,
        command.tenant,
        command.preemptible,
    )
    return CommandResult(task_id, tuple(uow.save(Change(loaded, [queued]))))
