"""Leasing for external workers: hand out the tasks assigned to a pool that no worker holds,
long-polling (bounded) until some arrive. The wait sleeps on the log's commit signal, so a
new assignment wakes the waiting workers at once; nothing polls the database in a loop."""

import asyncio
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

from starlette.concurrency import run_in_threadpool

from application import views
from application.commands.leases import LeaseTask
from application.errors import ConcurrencyConflict, HistoryArchived
from application.messages import MessageContext
from application.ports import CommandSender, ReadModel
from application.service import CommitSource
from application.tracing import NO_TRACING, TraceParent, Tracer, parent_from
from domain.errors import DomainError, PoolNotExternal, PoolNotFound
from domain.events import TaskLeased
from domain.task import task_stream
from domain.values import TaskType
from interfaces.http.closing import Closing
from interfaces.http.commit_waits import CommitWaits
from interfaces.http.completions import wait_for

RECHECK_S = 1.0
"""Look again at least this often while waiting (a commit on another node may arrive late)."""
MIN_RECHECK_S = 0.05


@dataclass(frozen=True)
class Leasing:
    """What leasing uses of the service."""

    reads: ReadModel
    sender: CommandSender
    lease_s: float
    commits: CommitSource
    tracer: Tracer = NO_TRACING


async def lease(
    service: Leasing,
    pool_id: str,
    worker_id: str,
    max_tasks: int,
    wait_s: float,
    context: MessageContext,
    closing: Closing,
    types: Collection[TaskType] | None = None,
) -> list[dict[str, Any]]:
    pool = await run_in_threadpool(service.reads.get_pool, pool_id)
    if pool is None:
        raise PoolNotFound(pool_id)
    if pool["execution"] != "external":
        raise PoolNotExternal(pool["name"])
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    with CommitWaits(service.commits, closing) as commits:
        while True:
            looked = loop.time()
            commits.mark()
            leased = await _lease_some(service, pool_id, worker_id, max_tasks, context, types)
            remaining = deadline - loop.time()
            if leased or remaining <= 0 or commits.closing:
                return leased
            await commits.wait(min(remaining, RECHECK_S))
            # under a stream of commits, look at most every MIN_RECHECK_S per waiting worker
            await asyncio.sleep(max(0.0, min(looked + MIN_RECHECK_S, deadline) - loop.time()))


async def _lease_some(
    service: Leasing,
    pool_id: str,
    worker_id: str,
    max_tasks: int,
    context: MessageContext,
    types: Collection[TaskType] | None,
) -> list[dict[str, Any]]:
    candidates = await run_in_threadpool(service.reads.leasable, pool_id, max_tasks, types)
    traces = (
        await run_in_threadpool(_traces_of, service, candidates, worker_id)
        if service.tracer.enabled
        else [None] * len(candidates)
    )
    futures = [
        wait_for(service.sender.submit(LeaseTask(task_id, pool_id, worker_id, service.lease_s),
                                       replace(context, trace=trace)))
        for task_id, trace in zip(candidates, traces, strict=True)
    ]  # fmt: skip
    leased = []
    failure: Exception | None = None
    for future, trace in zip(futures, traces, strict=True):
        try:
            result = await future
        except (DomainError, ConcurrencyConflict):
            continue  # another worker took it, or the task moved on
        except Exception as error:  # e.g. the database busy: keep what was granted
            failure = failure or error
            continue
        event = result.recorded[-1].event
        assert isinstance(event, TaskLeased)
        task = await run_in_threadpool(_task_now, service.reads, event.task_id)
        leased.append(
            {
                "task": task,
                "lease": {
                    "token": event.lease_token,
                    "expires_at": views.iso_timestamp(event.expires_at),
                    "seconds": (event.expires_at - event.leased_at).total_seconds(),
                },
                "traceparent": None if trace is None else trace.header(),
            }
        )
    if failure is not None and not leased:
        raise failure
    return leased


def _traces_of(service: Leasing, task_ids: list[str], worker_id: str) -> list[TraceParent | None]:
    """For each task, a span for its lease (`taskrouterx.lease`) under the latest span of
    the task's own trace: the lease, and the worker's report, continue the task's trace
    (the worker is told it as `traceparent`)."""
    spans = []
    for task_id in task_ids:
        attributes = {"taskrouterx.task_id": task_id, "taskrouterx.worker_id": worker_id}
        parent = parent_from(service.reads.trace_of, task_stream(task_id))
        with service.tracer.span("taskrouterx.lease", parent, attributes) as span:
            spans.append(span)
    return spans


def _task_now(reads: ReadModel, task_id: str) -> dict[str, Any] | None:
    """The task folded from its stream (from its row in the tasks projection if the
    stream's first events were archived)."""
    try:
        return views.task_view(reads.history(task_stream(task_id)))
    except HistoryArchived:
        row = reads.task_row(task_id)
        return None if row is None else views.task_view_from(row, [])
