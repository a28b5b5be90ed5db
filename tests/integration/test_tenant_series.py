"""Each tenant's running tasks over time, from the tasks projection's counts per ten
seconds and tenant, on a real SQLite file with the clock driven by the test."""

from application.commands.finish_task import CompleteTask
from application.commands.submit_task import SubmitTask
from application.messages import MessageContext
from domain.values import ResourceType, TaskType
from infrastructure.bootstrap import TaskRouter
from tests.fakes import FakeClock
from tests.integration.tenant_support import scheduler, two_tenants

CTX = MessageContext("series", None, "test")


def test_the_series_walks_back_from_now_through_each_tenants_starts_and_ends(
    quiet_router: TaskRouter, clock: FakeClock
) -> None:
    sender = two_tenants(quiet_router)
    policy = scheduler(quiet_router, sender)

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
