import uuid
from dataclasses import dataclass

from application.aggregates import Change
from application.messages import Command, CommandResult
from application.unit_of_work import UnitOfWork
from domain.errors import PoolAlreadyRegistered
from domain.values import Execution, ResourceType
from domain.worker_pool import WorkerPool, pool_stream

POOL_NAMESPACE = uuid.UUID("6f1c1b52-3a7e-4d5e-9a0e-6b9f3f0d2c11")


def pool_id_for(name: str) -> str:
    """Pool ids derive from names, so a name can be registered once: its stream exists."""
    return str(uuid.uuid5(POOL_NAMESPACE, name))


@dataclass(frozen=True)
class RegisterWorkerPool(Command):
    name: str
    region: str
    resource_type: ResourceType
    cost_per_unit: float
    capacity: int
    execution: Execution = Execution.SIMULATED


def register_worker_pool(command: RegisterWorkerPool, uow: UnitOfWork) -> CommandResult:
    pool_id = pool_id_for(command.name)
    loaded = uow.aggregates.load(pool_stream(pool_id), WorkerPool.start)
    if loaded.state is not None:
        raise PoolAlreadyRegistered(command.name)
    registered = WorkerPool.register(
        pool_id,
        command.name,
        command.region,
        command.resource_type,
        command.cost_per_unit,
        command.capacity,
        uow.clock.now(),
        command.execution,
    )
    return CommandResult(pool_id, tuple(uow.save(Change(loaded, [registered]))))
