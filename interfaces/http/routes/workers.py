import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from application import views
from application.commands.change_pool_capacity import ChangePoolCapacity
from application.commands.pool_operations import ChangePoolExecution, DrainPool, ResumePool
from application.commands.register_worker_pool import RegisterWorkerPool
from application.idempotency import Response as IdempotentResponse
from application.idempotency import Sources
from application.messages import CommandResult
from application.ports import ReadModel
from domain.errors import PoolNotFound
from domain.worker_pool import pool_stream
from interfaces.http import leasing
from interfaces.http.as_of import AsOf, position_of
from interfaces.http.deps import (
    EVERY_TENANT,
    Commits,
    Context,
    LeaseSeconds,
    Reads,
    Sender,
    ServerClosing,
    TimeTravelling,
    Tracing,
    send,
)
from interfaces.http.idempotent import execute, json_body
from interfaces.http.middleware.auth import POOLS, READ, WORK, requires
from interfaces.http.schemas import LeasedTasks, LeaseIn, PoolCreate, PoolList, PoolOut, PoolPatch

router = APIRouter(prefix="/api/v1/workers", tags=["workers"])


@router.get("", dependencies=[requires(READ)], response_model=PoolList)
def list_pools(reads: Reads, history: TimeTravelling, as_of: AsOf = None) -> dict[str, Any]:
    if as_of is not None:
        return {"worker_pools": history.pools(position_of(history, as_of))}
    return {"worker_pools": reads.list_pools()}


@router.post("", dependencies=[requires(POOLS)], status_code=201, response_model=PoolOut)
async def register_pool(body: PoolCreate, request: Request) -> Response:
    command = RegisterWorkerPool(
        body.name,
        body.region,
        body.resource_type,
        body.cost_per_unit,
        body.capacity,
        body.execution,
    )
    return await execute(request, command, _registered)


def _registered(result: CommandResult, sources: Sources) -> IdempotentResponse:
    assert result.aggregate_id is not None
    return json_body(201, views.pool_view(sources.history(pool_stream(result.aggregate_id))))


@router.get("/{pool_id}", dependencies=[requires(READ)], response_model=PoolOut)
def get_pool(pool_id: uuid.UUID, reads: Reads) -> dict[str, Any]:
    return _pool(reads, str(pool_id))


@router.patch("/{pool_id}", dependencies=[requires(POOLS)], response_model=PoolOut)
async def change_pool(
    pool_id: uuid.UUID, body: PoolPatch, sender: Sender, reads: Reads, context: Context
) -> dict[str, Any]:
    """Change the capacity, or who runs the pool's tasks (only while it runs none)."""
    if body.execution is not None:
        await send(sender, ChangePoolExecution(str(pool_id), body.execution), context)
    if body.capacity is not None:
        await send(sender, ChangePoolCapacity(str(pool_id), body.capacity), context)
    return _pool(reads, str(pool_id))


@router.post("/{pool_id}/drain", dependencies=[requires(POOLS)], response_model=PoolOut)
async def drain_pool(
    pool_id: uuid.UUID, sender: Sender, reads: Reads, context: Context
) -> dict[str, Any]:
    """Stop new assignments to the pool; its running tasks finish."""
    await send(sender, DrainPool(str(pool_id)), context)
    return _pool(reads, str(pool_id))


@router.post("/{pool_id}/resume", dependencies=[requires(POOLS)], response_model=PoolOut)
async def resume_pool(
    pool_id: uuid.UUID, sender: Sender, reads: Reads, context: Context
) -> dict[str, Any]:
    """Take new assignments again after a drain."""
    await send(sender, ResumePool(str(pool_id)), context)
    return _pool(reads, str(pool_id))


@router.post(
    "/{pool_id}/lease", dependencies=[requires(WORK), EVERY_TENANT], response_model=LeasedTasks
)
async def lease_tasks(
    pool_id: uuid.UUID,
    body: LeaseIn,
    reads: Reads,
    sender: Sender,
    lease_s: LeaseSeconds,
    commits: Commits,
    context: Context,
    closing: ServerClosing,
    tracer: Tracing,
) -> dict[str, Any]:
    """For a worker of an external pool: up to `max_tasks` tasks assigned to the pool that
    no worker holds, each with a lease token and deadline, waiting up to `wait_s` for some
    to arrive (an empty list when none did). Keep a lease with heartbeats; report with
    complete or fail, or give the task back with release. With `types`, only tasks of
    those types (a worker that runs some types only)."""
    parts = leasing.Leasing(reads, sender, lease_s, commits, tracer)
    leased = await leasing.lease(
        parts, str(pool_id), body.worker_id, body.max_tasks, body.wait_s, context, closing,
        body.types,
    )  # fmt: skip
    return {"pool_id": str(pool_id), "worker_id": body.worker_id, "tasks": leased}


def _pool(reads: ReadModel, pool_id: str) -> dict[str, Any]:
    pool = reads.get_pool(pool_id)
    if pool is None:
        raise PoolNotFound(pool_id)
    return pool
