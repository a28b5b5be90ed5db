"""What the tenant tests on a quiet router share: the demo pools and tenants a and b, and a
scheduler restored from the read models, as after a restart."""

from application.bus import InlineSender
from application.commands.tenants import CreateTenant
from application.messages import MessageContext
from application.scheduling.scheduler import Scheduler
from application.simulation.demo_pools import register_demo_pools
from infrastructure.bootstrap import TaskRouter
from infrastructure.sql.state_sources import SqlStateSource

CTX = MessageContext("tenants", None, "test")


def two_tenants(router: TaskRouter) -> InlineSender:
    """The demo pools and tenants a and b; the sender to command the router with."""
    sender = InlineSender(router.bus)
    register_demo_pools(router.store, sender)
    for name in ("a", "b"):
        sender.submit(CreateTenant(name), CTX).result()
    return sender


def scheduler(router: TaskRouter, sender: InlineSender) -> Scheduler:
    """A scheduler restored from the read models."""
    policy = Scheduler(router.store, sender, SqlStateSource(router.engines.read), router.signal)
    policy.restore()
    return policy
