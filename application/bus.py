"""Routes each command to its handler, retrying on a concurrency conflict."""

import random
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any

import structlog

from application.aggregates import Aggregates
from application.commands import leases, pool_operations, task_lifecycle, tenants
from application.commands.assign_worker import AssignWorker, assign_worker
from application.commands.change_pool_capacity import ChangePoolCapacity, change_pool_capacity
from application.commands.defer_task import DeferTask, defer_task
from application.commands.finish_task import CompleteTask, FailTask, complete_task, fail_task
from application.commands.preempt_task import PreemptTask, preempt_task
from application.commands.register_worker_pool import RegisterWorkerPool, register_worker_pool
from application.commands.submit_task import SubmitTask, submit_task
from application.commands.switch_algorithm import SwitchAlgorithm, switch_algorithm
from application.errors import ConcurrencyConflict
from application.messages import Command, CommandResult, MessageContext
from application.ports import Clock, IdGenerator
from application.unit_of_work import UnitOfWork

Handler = Callable[[Any, UnitOfWork], CommandResult]

HANDLERS: Mapping[type[Command], Handler] = {
    SubmitTask: submit_task,
    AssignWorker: assign_worker,
    DeferTask: defer_task,
    PreemptTask: preempt_task,
    CompleteTask: complete_task,
    FailTask: fail_task,
    RegisterWorkerPool: register_worker_pool,
    ChangePoolCapacity: change_pool_capacity,
    SwitchAlgorithm: switch_algorithm,
    task_lifecycle.CancelTask: task_lifecycle.cancel_task,
    task_lifecycle.MarkTaskReady: task_lifecycle.mark_task_ready,
    task_lifecycle.TimeOutTask: task_lifecycle.time_out_task,
    task_lifecycle.RetryTask: task_lifecycle.retry_task,
    leases.LeaseTask: leases.lease_task,
    leases.Heartbeat: leases.heartbeat,
    leases.ReleaseTask: leases.release_task,
    leases.ExpireLease: leases.expire_lease,
    pool_operations.DrainPool: pool_operations.drain_pool,
    pool_operations.ResumePool: pool_operations.resume_pool,
    pool_operations.ChangePoolExecution: pool_operations.change_pool_execution,
    tenants.CreateTenant: tenants.create_tenant,
    tenants.ChangeTenant: tenants.change_tenant,
}

MAX_ATTEMPTS = 3

log = structlog.get_logger(__name__)


class CommandBus:
    def __init__(
        self,
        aggregates: Aggregates,
        clock: Clock,
        ids: IdGenerator,
        handlers: Mapping[type[Command], Handler] = HANDLERS,
        jitter: Callable[[], float] | None = None,
    ) -> None:
        self._aggregates = aggregates
        self._clock = clock
        self._ids = ids
        self._handlers = handlers
        self._jitter = jitter or random.Random().random

    def handle(self, command: Command, context: MessageContext) -> CommandResult:
        """Run the command's handler; on a concurrency conflict, reload and decide again."""
        handler = self._handlers[type(command)]
        uow = UnitOfWork(self._aggregates, self._clock, self._ids, context, self._jitter)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return handler(command, uow)
            except ConcurrencyConflict as conflict:
                log.warning(
                    "command.conflict",
                    command=type(command).__name__,
                    stream=conflict.stream_id,
                    attempt=attempt,
                )
                if attempt == MAX_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")


class InlineSender:
    """A CommandSender that runs each command in the caller's thread (CLI, tests)."""

    def __init__(self, bus: CommandBus) -> None:
        self._bus = bus

    def submit(self, command: Command, context: MessageContext) -> "Future[CommandResult]":
        future: Future[CommandResult] = Future()
        try:
            future.set_result(self._bus.handle(command, context))
        except Exception as error:  # handed to the caller through the future
            future.set_exception(error)
        return future
