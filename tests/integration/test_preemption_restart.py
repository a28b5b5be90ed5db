"""A scheduler restarted from the read models (SqlStateSource) knows the running tasks'
tenants, priorities, preemptibility and start times as the one before it did: it preempts
the task the log says it should, and the audit, rebuilding the state from the log, agrees."""

from application.commands.finish_task import CompleteTask
from application.commands.submit_task import SubmitTask
from application.messages import MessageContext
from domain.events import TaskPreempted
from domain.values import ResourceType, TaskType
from infrastructure.bootstrap import TaskRouter
from tests.fakes import FakeClock
from tests.integration.tenant_support import scheduler, two_tenants

CTX = MessageContext("restart", None, "test")
CPU_SLOTS = 34


def test_a_restarted_scheduler_preempts_as_the_log_says_and_the_audit_agrees(
    quiet_router: TaskRouter, clock: FakeClock
) -> None:
    sender = two_tenants(quiet_router)
    first = scheduler(quiet_router, sender)
    ids = []
    for index in range(CPU_SLOTS):  # priorities 1..9 and later starts: the order matters
        task = SubmitTask(
            TaskType.ORDER, 1 + index % 9, 1.0, "us-east", ResourceType.CPU,
            task_id=f"a{index:02}", tenant="a", preemptible=True,
        )  # fmt: skip
        ids.append(sender.submit(task, CTX).result().aggregate_id)
        first.run_once()
        clock.advance(1)
    sender.submit(CompleteTask(ids[0]), CTX).result()  # a slot free: b's first task takes it
    first.run_once()
    del first

    again = scheduler(quiet_router, sender)  # from the read models, as after a restart
    for index in range(3):
        late = SubmitTask(TaskType.ORDER, 5, 1.0, "us-east", ResourceType.CPU,
                          task_id=f"b{index}", tenant="b")  # fmt: skip
        sender.submit(late, CTX).result()
        again.run_once()
    preempted = [
        r.event
        for r in quiet_router.store.read_all(0, 100_000)
        if isinstance(r.event, TaskPreempted)
    ]
    # lowest priority first (1), the newest of those (a27 started after a18 and a09)
    assert [(event.task_id, event.beneficiary) for event in preempted] == [
        ("a27", "b1"), ("a18", "b2"),
    ]  # fmt: skip
    report = quiet_router.audit()
    assert report.ok, (report.mismatches, report.violations)
    assert report.preemptions_checked == 2
