"""The original's eight demo worker pools, registered as events on a fresh database."""

from application.commands.register_worker_pool import RegisterWorkerPool
from application.messages import MessageContext
from application.ports import CommandSender, EventStore
from domain.values import ResourceType

DEMO_POOLS: tuple[tuple[str, float, float, int, int], ...] = (
    ("us-east", 0.5, 2.0, 10, 5),
    ("us-west", 0.6, 2.2, 8, 4),
    ("eu-west", 0.55, 2.1, 10, 5),
    ("ap-east", 0.65, 2.3, 6, 3),
)


def demo_pool_commands() -> list[RegisterWorkerPool]:
    commands = []
    for region, cpu_cost, gpu_cost, cpu_capacity, gpu_capacity in DEMO_POOLS:
        for resource_type, cost, capacity in (
            (ResourceType.CPU, cpu_cost, cpu_capacity),
            (ResourceType.GPU, gpu_cost, gpu_capacity),
        ):
            commands.append(
                RegisterWorkerPool(
                    f"{region}-{resource_type}-pool", region, resource_type, cost, capacity
                )
            )
    return commands


def register_demo_pools(store: EventStore, sender: CommandSender) -> int:
    """Register the demo pools if the log is empty; return how many were registered."""
    if store.head() != 0:
        return 0
    context = MessageContext("demo-pools", None, "system")
    for command in demo_pool_commands():
        sender.submit(command, context).result()
    return len(DEMO_POOLS) * 2
