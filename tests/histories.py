"""A random but valid history driven through the real command path: thousands of events
reaching every task status, deferrals, capacity changes, algorithm switches and new pools."""

import random

from sqlalchemy import select

from application.bus import InlineSender
from application.commands.change_pool_capacity import ChangePoolCapacity
from application.commands.finish_task import CompleteTask, FailTask
from application.commands.register_worker_pool import RegisterWorkerPool
from application.commands.submit_task import SubmitTask
from application.commands.switch_algorithm import SwitchAlgorithm
from application.commands.task_lifecycle import CancelTask
from application.demo_pools import register_demo_pools
from application.messages import MessageContext
from application.scheduling.policy import SchedulingPolicy
from domain.errors import DomainError
from domain.values import Algorithm, ResourceType, TaskStatus, TaskType
from infrastructure.bootstrap import TaskRouter
from infrastructure.sql.schema import events
from infrastructure.sql.state_sources import SqlStateSource
from tests.fakes import FakeClock

CTX = MessageContext("random-history", None, "test")
REGIONS = ["us-east", "us-west", "eu-west", "ap-east"]


def random_task(rng: random.Random, regions: list[str], numbered: bool = False) -> SubmitTask:
    kind, priority = rng.choice(list(TaskType)), rng.randint(1, 10)
    cost, region = round(rng.uniform(0.1, 50), 3), rng.choice(regions)
    resource = rng.choice([None, ResourceType.CPU, ResourceType.GPU])
    metadata = {"n": rng.randint(0, 9)} if numbered else {}
    return SubmitTask(kind, priority, cost, region, resource, metadata)


def ids_with_status(router: TaskRouter, status: TaskStatus) -> list[str]:
    with router.engines.read.connect() as connection:
        rows = connection.execute(
            select(events.c.stream_id, events.c.type).order_by(events.c.position)
        ).all()
    latest: dict[str, str] = {}
    for stream_id, type_name in rows:
        if stream_id.startswith("task-"):
            latest[stream_id.removeprefix("task-")] = type_name
    wanted = {
        TaskStatus.QUEUED: {"TaskQueued", "TaskDeferred"},
        TaskStatus.PROCESSING: {"WorkerAssigned"},
    }
    return [task_id for task_id, type_name in latest.items() if type_name in wanted[status]][:100]


def random_history(
    router: TaskRouter,
    clock: FakeClock,
    events: int,
    seed: int = 11,
    policy: SchedulingPolicy | None = None,
) -> SchedulingPolicy:
    rng = random.Random(seed)
    sender = InlineSender(router.bus)
    if policy is None:
        register_demo_pools(router.store, sender)
        policy = SchedulingPolicy(
            router.store, sender, SqlStateSource(router.engines.read), router.signal
        )
        policy.restore()
    extra_pools = 0
    while router.store.head() < events:
        clock.advance(rng.uniform(0.0, 3.0))
        roll = rng.random()
        try:
            if roll < 0.45:
                sender.submit(random_task(rng, [*REGIONS, "mars"], numbered=True), CTX).result()
            elif roll < 0.6:
                policy.run_once()
            elif roll < 0.75 and (running := ids_with_status(router, TaskStatus.PROCESSING)):
                sender.submit(CompleteTask(rng.choice(running)), CTX).result()
            elif roll < 0.82 and (running := ids_with_status(router, TaskStatus.PROCESSING)):
                sender.submit(FailTask(rng.choice(running), "random failure"), CTX).result()
            elif roll < 0.88 and (queued := ids_with_status(router, TaskStatus.QUEUED)):
                sender.submit(CancelTask(rng.choice(queued)), CTX).result()
            elif roll < 0.93:
                pool = rng.choice(router.read_model.list_pools())
                sender.submit(ChangePoolCapacity(pool["id"], rng.randint(0, 12)), CTX).result()
            elif roll < 0.97:
                sender.submit(SwitchAlgorithm(rng.choice(list(Algorithm))), CTX).result()
            else:
                extra_pools += 1
                sender.submit(
                    RegisterWorkerPool(
                        f"extra-{extra_pools}",
                        "mars",
                        rng.choice(list(ResourceType)),
                        rng.uniform(0.1, 3),
                        rng.randint(0, 6),
                    ),
                    CTX,
                ).result()
        except DomainError:
            pass
    return policy


def scheduled_history(
    router: TaskRouter, clock: FakeClock, events: int, algorithm: Algorithm, seed: int = 3
) -> None:
    """Like `random_history`, but the scheduler acts after every command, as the server's
    does, and the algorithm stays the one given."""
    rng = random.Random(seed)
    sender = InlineSender(router.bus)
    register_demo_pools(router.store, sender)
    sender.submit(SwitchAlgorithm(algorithm), CTX).result()
    policy = SchedulingPolicy(
        router.store, sender, SqlStateSource(router.engines.read), router.signal
    )
    policy.restore()
    policy.run_once()
    while router.store.head() < events:
        clock.advance(rng.uniform(0.0, 2.0))
        roll = rng.random()
        try:
            if roll < 0.5:
                sender.submit(random_task(rng, REGIONS), CTX).result()
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
