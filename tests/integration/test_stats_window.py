"""Stats over time, with the real system clock frozen and moved by freezegun."""

from pathlib import Path
from typing import Any

from alembic import command
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
from infrastructure.bootstrap import TaskRouter, bootstrap
from infrastructure.settings import Settings
from infrastructure.sql import migrate
from tests.sqlite_support import sqlite_url

ONCE = RetryPolicy(max_attempts=1)
"""A failure is final: the task has finished."""
CTX = MessageContext("stats", None, "test")


def three_finished_tasks(router: TaskRouter, frozen: Any) -> list[str]:
    """Tasks submitted a second apart from 12:00:00 (frozen), two completed at 12:00:06
    (latencies 6 s and 5 s) and one failed for good."""
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
    return task_ids


def test_latency_and_the_sixty_second_throughput_window(tmp_path: Path) -> None:
    with freeze_time("2026-06-01 12:00:00") as frozen:
        router = bootstrap(
            Settings(database_url=sqlite_url(tmp_path), scheduler="off", simulator="off")
        )
        migrate.upgrade(router.engines.write)
        task_ids = three_finished_tasks(router, frozen)
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


def test_the_series_puts_each_finish_in_its_step(tmp_path: Path) -> None:
    with freeze_time("2026-06-01 12:00:00") as frozen:
        router = bootstrap(
            Settings(database_url=sqlite_url(tmp_path), scheduler="off", simulator="off")
        )
        migrate.upgrade(router.engines.write)
        three_finished_tasks(router, frozen)
        frozen.tick(10)  # 12:00:16
        series = router.read_model.series(router.clock.now(), 30, 5)
        router.engines.dispose()
    assert [p["at"][11:19] for p in series] == [
        "11:59:50", "11:59:55", "12:00:00", "12:00:05", "12:00:10", "12:00:15",
    ], "steps on multiples of 5 s, the last holding 12:00:16"  # fmt: skip
    assert [p["seconds"] for p in series] == [5, 5, 5, 5, 5, 2], "12:00:15 and :16 so far"
    assert [p["finished"] for p in series] == [0, 0, 0, 3, 0, 0], "all finished at 12:00:06"
    assert series[3]["completed"] == 2
    assert series[3]["mean_latency_s"] == (6.0 + 5.0) / 2
    assert series[3]["throughput"] == 3 / 5
    assert [p["mean_latency_s"] for p in series if p is not series[3]] == [None] * 5


def test_the_current_step_counts_its_throughput_over_the_seconds_it_has_had(
    tmp_path: Path,
) -> None:
    with freeze_time("2026-06-01 12:00:00") as frozen:
        router = bootstrap(
            Settings(database_url=sqlite_url(tmp_path), scheduler="off", simulator="off")
        )
        migrate.upgrade(router.engines.write)
        three_finished_tasks(router, frozen)  # finished at 12:00:06
        frozen.move_to("2026-06-01 12:00:07.5")
        last = router.read_model.series(router.clock.now(), 10, 10)[-1]
        router.engines.dispose()
    assert (last["at"][11:19], last["seconds"], last["finished"]) == ("12:00:00", 8, 3)
    assert last["throughput"] == 3 / 8


def test_migrating_to_per_second_latency_refolds_the_stats_from_the_log(tmp_path: Path) -> None:
    """0006 cannot split old rows into completions and latencies; it empties the stats
    projection, and the next start folds it again from the log."""
    settings = Settings(database_url=sqlite_url(tmp_path), scheduler="off", simulator="off")
    with freeze_time("2026-06-01 12:00:00") as frozen:
        router = bootstrap(settings)
        migrate.upgrade(router.engines.write)
        three_finished_tasks(router, frozen)
        before = router.read_model.series(router.clock.now(), 60, 10)
        counters = router.read_model.stats(router.clock.now())
        router.engines.dispose()
        command.downgrade(migrate.alembic_config(settings.database_url), "0005")

        restarted = bootstrap(settings)
        restarted.start()
        try:
            assert restarted.read_model.series(restarted.clock.now(), 60, 10) == before
            assert restarted.read_model.stats(restarted.clock.now()) == counters
            assert [p["completed"] for p in before] == [0, 0, 0, 0, 0, 2]
        finally:
            restarted.stop()
