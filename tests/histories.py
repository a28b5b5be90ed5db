"""A random but valid history driven through the real command path: thousands of events
reaching every task status, deferrals, capacity changes, algorithm switches and new pools."""

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import select

from application.aggregates import Aggregates
from application.bus import InlineSender
from application.commands.change_pool_capacity import ChangePoolCapacity
from application.commands.finish_task import CompleteTask, FailTask
from application.commands.leases import Heartbeat, LeaseTask, ReleaseTask
from application.commands.pool_operations import ChangePoolExecution, DrainPool, ResumePool
from application.commands.register_worker_pool import RegisterWorkerPool
from application.commands.submit_task import SubmitTask
from application.commands.switch_algorithm import SwitchAlgorithm
from application.commands.task_lifecycle import CancelTask, RetryTask
from application.commands.tenants import CreateTenant
from application.lifecycle.timekeeper import Timekeeper
from application.messages import Command, MessageContext
from application.scheduling.scheduler import Scheduler
from application.simulation.demo_pools import register_demo_pools
from domain.errors import DomainError
from domain.retry import RetryPolicy
from domain.task import Task, task_stream
from domain.tenant import DEFAULT_TENANT
from domain.values import Algorithm, Execution, ResourceType, TaskStatus, TaskType
from infrastructure.bootstrap import TaskRouter
from infrastructure.sql.schema import tasks
from infrastructure.sql.state_sources import SqlStateSource
from tests.fakes import FakeClock

CTX = MessageContext("random-history", None, "test")
REGIONS = ["us-east", "us-west", "eu-west", "ap-east"]


def random_task(
    rng: random.Random, regions: list[str], numbered: bool = False, lifecycle: bool = False
) -> SubmitTask:
    kind, priority = rng.choice(list(TaskType)), rng.randint(1, 10)
    cost, region = round(rng.uniform(0.1, 50), 3), rng.choice(regions)
    resource = rng.choice([None, ResourceType.CPU, ResourceType.GPU])
    metadata = {"n": rng.randint(0, 9)} if numbered else {}
    if not lifecycle:  # as in the original: one attempt, a failure is final
        return SubmitTask(kind, priority, cost, region, resource, metadata, retry=ONE_ATTEMPT)
    return SubmitTask(
        kind,
        priority,
        cost,
        region,
        resource,
        metadata,
        retry=RetryPolicy(rng.randint(1, 3), rng.choice([0.0, 0.5, 2.0, 30.0]), 60.0),
        timeout_s=rng.choice([None, None, None, None, 5.0, 30.0]),
        not_before=rng.choice([None, None, None, None, NOT_BEFORE_SOON, NOT_BEFORE_LATE]),
    )


ONE_ATTEMPT = RetryPolicy(max_attempts=1)
NOT_BEFORE_SOON = datetime(2026, 1, 1, 0, 10, tzinfo=UTC)
"""Ten minutes into a FakeClock's day: early tasks wait for it, later ones do not."""
NOT_BEFORE_LATE = datetime(2026, 1, 2, tzinfo=UTC)
"""After any history's end: these tasks are still delayed when it stops."""


def ids_with_status(router: TaskRouter, *statuses: TaskStatus, limit: int = 100) -> list[str]:
    with router.engines.read.connect() as connection:
        return list(
            connection.execute(
                select(tasks.c.id)
                .where(tasks.c.status.in_([str(status) for status in statuses]))
                .order_by(tasks.c.queued_position)
                .limit(limit)
            ).scalars()
        )


def current(router: TaskRouter, task_id: str) -> Task:
    """The task as a command would load it (from its snapshot, if it has one)."""
    state = Aggregates(router.store, snapshots=router.store).load(task_stream(task_id), Task.start)
    assert state.state is not None, task_id
    return state.state


@dataclass(frozen=True)
class Reactors:
    """The scheduler and timekeeper a history drives, to continue it with."""

    policy: Scheduler
    keeper: Timekeeper


def restored_reactors(router: TaskRouter, clock: FakeClock) -> Reactors:
    """A scheduler and timekeeper for the router's store, restored from it as a restarted
    service restores them."""
    sender = InlineSender(router.bus)
    state_source = SqlStateSource(router.engines.read)
    reactors = Reactors(
        Scheduler(router.store, sender, state_source, router.signal),
        Timekeeper(router.store, sender, state_source, router.signal, clock),
    )
    reactors.policy.restore()
    reactors.keeper.restore()
    return reactors


def random_history(
    router: TaskRouter,
    clock: FakeClock,
    events: int,
    seed: int = 11,
    reactors: Reactors | None = None,
) -> Reactors:
    """Every kind of command at random: submissions (delayed ones, retry policies and
    timeouts), the scheduler and the timekeeper acting, workers leasing, beating, finishing
    and releasing, cancellations of waiting and running tasks, operators retrying dead
    letters, draining pools and changing their capacity, execution and the algorithm."""
    rng = random.Random(seed)
    sender = InlineSender(router.bus)
    if reactors is None:
        register_demo_pools(router.store, sender)
        for kind in ResourceType:
            sender.submit(
                RegisterWorkerPool(f"mars-{kind}", "mars", kind, 0.7, 3, Execution.EXTERNAL), CTX
            ).result()
        reactors = restored_reactors(router, clock)
    policy, keeper = reactors.policy, reactors.keeper
    extra_pools = 0

    def send(command: Command) -> None:
        sender.submit(command, CTX).result()

    def one(*statuses: TaskStatus) -> str | None:
        found = ids_with_status(router, *statuses)
        return rng.choice(found) if found else None

    def leased() -> tuple[str, str] | None:
        with router.engines.read.connect() as connection:
            held = connection.execute(
                select(tasks.c.id).where(tasks.c.leased_by.is_not(None)).limit(20)
            ).scalars()
            task_id = rng.choice(list(held) or [None])
        lease = None if task_id is None else current(router, task_id).lease
        return None if task_id is None or lease is None else (task_id, lease.token)

    while router.store.head() < events:
        clock.advance(rng.uniform(0.0, 3.0))
        roll = rng.random()
        try:
            if roll < 0.33:
                send(random_task(rng, [*REGIONS, "mars"], numbered=True, lifecycle=True))
            elif roll < 0.45:
                policy.run_once()
            elif roll < 0.51:
                keeper.run_once()
            elif roll < 0.62 and (task_id := one(TaskStatus.PROCESSING)):
                lease = current(router, task_id).lease
                send(CompleteTask(task_id, lease.token if lease else None))
            elif roll < 0.66 and (task_id := one(TaskStatus.PROCESSING)):
                lease = current(router, task_id).lease
                send(FailTask(task_id, "random failure", lease.token if lease else None))
            elif roll < 0.72:
                pools = [p["id"] for p in router.read_model.list_pools()
                         if p["execution"] == "external"]  # fmt: skip
                for task_id in router.read_model.leasable(rng.choice(pools), 2) if pools else []:
                    send(LeaseTask(task_id, current(router, task_id).pool_id or "", "w-1", 30))
            elif roll < 0.74 and (held := leased()):
                send(Heartbeat(*held, 30))
            elif roll < 0.76 and (held := leased()):
                send(ReleaseTask(*held, "worker stopping"))
            elif roll < 0.78 and (task_id := one(TaskStatus.QUEUED, TaskStatus.DELAYED,
                                                 TaskStatus.PROCESSING)):  # fmt: skip
                send(CancelTask(task_id))
            elif roll < 0.80 and (held := leased()):
                send(CancelTask(held[0]))
            elif roll < 0.82 and (task_id := one(TaskStatus.FAILED)):
                send(RetryTask(task_id))
            elif roll < 0.85:
                pool = rng.choice(router.read_model.list_pools())
                send(ChangePoolCapacity(pool["id"], rng.randint(0, 12)))
            elif roll < 0.87:
                pool = rng.choice(router.read_model.list_pools())
                send(ResumePool(pool["id"]) if pool["draining"] else DrainPool(pool["id"]))
            elif roll < 0.89:
                pool = rng.choice(router.read_model.list_pools())
                send(ChangePoolExecution(pool["id"], rng.choice(list(Execution))))
            elif roll < 0.93:
                send(SwitchAlgorithm(rng.choice(list(Algorithm))))
            elif roll < 0.99:
                clock.advance(rng.uniform(0.0, 20.0))
                keeper.run_once()
            else:
                extra_pools += 1
                send(
                    RegisterWorkerPool(
                        f"extra-{extra_pools}",
                        "mars",
                        rng.choice(list(ResourceType)),
                        rng.uniform(0.1, 3),
                        rng.randint(0, 6),
                        rng.choice(list(Execution)),
                    )
                )
        except DomainError:
            pass
    for _ in range(3):  # stragglers no one has scheduled yet: the history ends with some queued
        send(random_task(rng, REGIONS))
    return reactors


def scheduled_history(
    router: TaskRouter,
    clock: FakeClock,
    events: int,
    algorithm: Algorithm,
    seed: int = 3,
    tenants: Sequence[CreateTenant] = (),
) -> None:
    """Like `random_history`, but the scheduler acts after every command, as the server's
    does, and the algorithm stays the one given; with `tenants`, each task is a random
    one's (or the default tenant's)."""
    rng = random.Random(seed)
    sender = InlineSender(router.bus)
    register_demo_pools(router.store, sender)
    sender.submit(SwitchAlgorithm(algorithm), CTX).result()
    for tenant in tenants:
        sender.submit(tenant, CTX).result()
    names = [DEFAULT_TENANT, *(tenant.name for tenant in tenants)]
    policy = Scheduler(router.store, sender, SqlStateSource(router.engines.read), router.signal)
    policy.restore()
    policy.run_once()
    while router.store.head() < events:
        clock.advance(rng.uniform(0.0, 2.0))
        roll = rng.random()
        try:
            if roll < 0.5:
                task = random_task(rng, REGIONS)
                if tenants:
                    task = replace(task, tenant=rng.choice(names))
                sender.submit(task, CTX).result()
            elif roll < 0.8 and (running := ids_with_status(router, TaskStatus.PROCESSING)):
                sender.submit(CompleteTask(rng.choice(running)), CTX).result()
            elif roll < 0.87 and (running := ids_with_status(router, TaskStatus.PROCESSING)):
                sender.submit(FailTask(rng.choice(running), "random failure"), CTX).result()
            elif roll < 0.92 and (queued := ids_with_status(router, TaskStatus.QUEUED)):
                sender.submit(CancelTask(rng.choice(queued)), CTX).result()
            else:
                pool = rng.choice(router.read_model.list_pools())
                sender.submit(ChangePoolCapacity(pool["id"], rng.randint(0, 8)), CTX).result()
        except DomainError:
            pass
        policy.run_once()
