"""Stats over time, with the real system clock frozen and moved by freezegun."""

from pathlib import Path

from freezegun import freeze_time

from application.bus import InlineSender
from application.commands.assign_worker import AssignWorker
from application.commands.finish_task import CompleteTask, FailTask
from application.commands.register_worker_pool import RegisterWorkerPool
from application.commands.submit_task import SubmitTask
from application.messages import MessageContext
from domain.retry import RetryPolicy
from domain.scheduling import decide
from domain.scheduling.decision import PoolSnapshot, TaskSnapshot
from domain.values import Algorithm, ResourceType, TaskType
from infrastructure.bootstrap import bootstrap
from infrastructure.settings import Settings
from infrastructure.sql import migrate
from tests.sqlite_support import sqlite_url

ONCE = RetryPolicy(max_attempts=1)
"""A failure is final: the task has finished."""
CTX = MessageContext("stats", None, "test")


def test_latency_and_the_sixty_second_throughput_window(tmp_path: Path) -> None:
    with freeze_time("2026-06-01 12:00:00") as frozen:
        router = bootstrap(
            Settings(database_url=sqlite_url(tmp_path), scheduler="off", simulator="off")
        )
        migrate.upgrade(router.engines.write)
        sender = InlineSender(router.bus)
        pool_id = (
            sender.submit(RegisterWorkerPool("p", "us", ResourceType.CPU, 1.0, 10), CTX)
            .result()
            .aggregate_id
        )
        assert pool_id is not None
        snapshot = PoolSnapshot(pool_id, "p", "us", ResourceType.CPU, 1.0, 10, 0, 1)
        task_ids = []
        for index in range(3):
            task_id = (
                sender.submit(SubmitTask(TaskType.ORDER, 5, 1.0, "us", retry=ONCE), CTX)
                .result()
                .aggregate_id
            )
            assert task_id is not None
            decision = decide(Algorithm.FIFO, TaskSnapshot(task_id, 5, "us", None), [snapshot])
            sender.submit(AssignWorker(task_id, pool_id, decision), CTX).result()
            task_ids.append(task_id)
            frozen.tick(index + 1)

        sender.submit(CompleteTask(task_ids[0]), CTX).result()
        sender.submit(CompleteTask(task_ids[1]), CTX).result()
        sender.submit(FailTask(task_ids[2], "x"), CTX).result()
        stats = router.read_model.stats(router.clock.now())
        assert stats["average_latency"] == (6.0 + 5.0) / 2
        assert stats["throughput"] == 3 / 60
        first = router.read_model.get_task(task_ids[0])
        assert first is not None
        assert first["completed_at"] == "2026-06-01T12:00:06.000000+00:00"

        frozen.tick(59)
        assert router.read_model.stats(router.clock.now())["throughput"] == 3 / 60
        frozen.tick(1)
        assert router.read_model.stats(router.clock.now())["throughput"] == 0.0
        router.engines.dispose()
