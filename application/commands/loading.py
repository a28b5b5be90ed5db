"""Loading the aggregates commands address, raising NotFound for missing ones."""

from application.aggregates import Loaded
from application.unit_of_work import UnitOfWork
from domain.errors import PoolNotFound, TaskNotFound, TenantNotFound
from domain.scheduler_config import SCHEDULER_STREAM, SchedulerConfig
from domain.task import Task, task_stream
from domain.tenant import DEFAULT_TENANT, NAME, Tenant, tenant_stream
from domain.worker_pool import WorkerPool, pool_stream


def existing_task(uow: UnitOfWork, task_id: str) -> tuple[Loaded[Task], Task]:
    loaded = uow.aggregates.load(task_stream(task_id), Task.start)
    if loaded.state is None:
        raise TaskNotFound(task_id)
    return loaded, loaded.state


def existing_pool(uow: UnitOfWork, pool_id: str) -> tuple[Loaded[WorkerPool], WorkerPool]:
    loaded = uow.aggregates.load(pool_stream(pool_id), WorkerPool.start)
    if loaded.state is None:
        raise PoolNotFound(pool_id)
    return loaded, loaded.state


def scheduler_config(uow: UnitOfWork) -> tuple[Loaded[SchedulerConfig], SchedulerConfig]:
    loaded = uow.aggregates.load(SCHEDULER_STREAM, SchedulerConfig.start)
    return loaded, loaded.state or SchedulerConfig()


def tenant_of(uow: UnitOfWork, name: str) -> tuple[Loaded[Tenant], Tenant]:
    """The tenant named `name` (the default one exists unless changed, without events);
    TenantNotFound if there is none."""
    if not NAME.fullmatch(name):  # no stream to read for a name that cannot exist
        raise TenantNotFound(name)
    loaded = uow.aggregates.load(tenant_stream(name), Tenant.start)
    if loaded.state is not None:
        return loaded, loaded.state
    if name == DEFAULT_TENANT:
        return loaded, Tenant.default()
    raise TenantNotFound(name)
