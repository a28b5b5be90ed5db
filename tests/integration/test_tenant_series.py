"""Each tenant's running tasks over time, from the tasks projection's counts per ten
seconds and tenant, on a real SQLite file with the clock driven by the test."""

from application.bus import InlineSender
from application.commands.finish_task import CompleteTask
from application.commands.submit_task import SubmitTask
from application.commands.tenants import CreateTenant
from application.messages import MessageContext
from application.scheduling.scheduler import Scheduler
from application.simulation.demo_pools import register_demo_pools
from domain.values import ResourceType, TaskType
from infrastructure.bootstrap import TaskRouter
from infrastructure.sql.state_sources import SqlStateSource
from tests.fakes import FakeClock

CTX = MessageContext("series", None, "test")


def test_the_series_walks_back_from_now_through_each_tenants_starts_and_ends(
    quiet_router: TaskRouter, clock: FakeClock
) -> None:
    sender = InlineSender(quiet_router.bus)
    register_demo_pools(quiet_router.store, sender)
    for name in ("a", "b"):
        sender.submit(CreateTenant(name), CTX).result()
    policy = Scheduler(
        quiet_router.store, sender, SqlStateSource(quiet_router.engines.read), quiet_router.signal
    )
    policy.restore()

    def submit(name: str, count: int) -> list[str]:
        found = []
        for _ in range(count):
            task = SubmitTask(TaskType.ORDER, 5, 1.0, "us-east", ResourceType.CPU, tenant=name)
            found.append(sender.submit(task, CTX).result().aggregate_id)
        policy.run_once()
        return found

    clock.advance(5 - clock.now().timestamp() % 10)  # 5 s into a step
    a = submit("a", 6)
    clock.advance(10)
    submit("b", 3)
    clock.advance(10)
    for task_id in a[:4]:
        sender.submit(CompleteTask(task_id), CTX).result()
    policy.run_once()
    clock.advance(10)  # now 5 s into the fourth step

    series = quiet_router.read_model.tenant_series(clock.now(), 40, 10)
    assert series["tenants"]["a"]["running"] == [6, 6, 2, 2]
    assert series["tenants"]["b"]["running"] == [0, 3, 3, 3]
    assert series["slots"] == 51
    assert series["tenants"]["a"]["share_pct"][0] == round(100 * 6 / 51, 2)
