"""Projections: rebuilt tables equal the incrementally built ones, on thousands of random
events; catch-up resumes from the checkpoint; a projection behind the log is skipped
inline and caught up."""

from typing import Any

import pytest
from sqlalchemy import select, text

from application import views
from application.bus import InlineSender
from application.commands.submit_task import SubmitTask
from application.messages import MessageContext
from application.simulation.demo_pools import register_demo_pools
from domain.values import TaskStatus, TaskType
from infrastructure.bootstrap import TaskRouter
from infrastructure.sql.schema import metadata, pool_load, tasks
from tests.fakes import FakeClock
from tests.histories import random_history

CTX = MessageContext("random-history", None, "test")
PROJECTION_TABLES = [
    "tasks",
    "task_counts",
    "pool_load",
    "stats_counters",
    "stats_throughput",
    "checkpoints",
]


def snapshot(router: TaskRouter) -> dict[str, list[Any]]:
    with router.engines.read.connect() as connection:
        result = {}
        for name in PROJECTION_TABLES:
            table = metadata.tables[name]
            order = list(table.primary_key.columns)
            result[name] = [
                tuple(row) for row in connection.execute(select(table).order_by(*order))
            ]
        return result


def test_rebuild_equals_incremental_on_random_history(
    quiet_router: TaskRouter, clock: FakeClock
) -> None:
    random_history(quiet_router, clock, events=3000)
    incremental = snapshot(quiet_router)
    statuses = {row[6] for row in incremental["tasks"]}
    assert statuses == {str(s) for s in TaskStatus}, "the history should reach every status"
    assert quiet_router.read_model.stats(clock.now())["scheduler_stats"]["tasks_deferred"] > 0

    quiet_router.runner.rebuild(quiet_router.runner.names)
    assert snapshot(quiet_router) == incremental
    quiet_router.runner.rebuild_at_once(quiet_router.runner.names)
    assert snapshot(quiet_router) == incremental
    for name in quiet_router.runner.names:
        quiet_router.runner.rebuild([name], batch_size=97)
        assert snapshot(quiet_router) == incremental


def test_set_based_rebuild_keeps_metadata_and_numbers_exact(
    quiet_router: TaskRouter, clock: FakeClock
) -> None:
    sender = InlineSender(quiet_router.bus)
    register_demo_pools(quiet_router.store, sender)
    metadata = {
        "é": "ü\u2028",
        "f": 0.1,
        "tiny": 5e-324,
        "big": 1e300,
        "n": [1.5, {"x": None}],
        "i": 2**62,
    }
    for cost in (0.1, 1.0, 3.0000000000000004, 7):
        clock.advance(0.000001)
        sender.submit(SubmitTask(TaskType.QUERY, 3, cost, "eu-west", None, metadata), CTX).result()
    incremental = snapshot(quiet_router)
    quiet_router.runner.rebuild_at_once(quiet_router.runner.names)
    assert snapshot(quiet_router) == incremental


def test_views_folded_from_streams_equal_the_projections(
    quiet_router: TaskRouter, clock: FakeClock
) -> None:
    """The fallback used while a projection is behind answers exactly what it would."""
    random_history(quiet_router, clock, events=1500, seed=21)
    with quiet_router.engines.read.connect() as connection:
        task_ids = [row.id for row in connection.execute(select(tasks.c.id))]
        pool_ids = [row.pool_id for row in connection.execute(select(pool_load.c.pool_id))]
    for task_id in task_ids:
        projected = quiet_router.read_model.get_task(task_id)
        assert views.task_view(quiet_router.store.read_stream(f"task-{task_id}")) == projected
    for pool_id in pool_ids:
        projected = quiet_router.read_model.get_pool(pool_id)
        assert views.pool_view(quiet_router.store.read_stream(f"pool-{pool_id}")) == projected


def test_a_projection_behind_the_log_is_skipped_inline_then_caught_up(
    quiet_router: TaskRouter, clock: FakeClock
) -> None:
    reactors = random_history(quiet_router, clock, events=400, seed=5)
    with quiet_router.engines.write.begin() as connection:
        connection.execute(text("DELETE FROM tasks"))
        connection.execute(text("DELETE FROM task_counts"))
        connection.execute(text("UPDATE checkpoints SET position = 0 WHERE name = 'tasks'"))
    random_history(quiet_router, clock, events=600, seed=6, reactors=reactors)
    positions, _ = quiet_router.read_model.projection_positions()
    assert positions["tasks"] == 0, "inline application must skip a projection that is behind"
    assert positions["stats"] == quiet_router.store.head()

    quiet_router.runner.catch_up(["tasks"])
    caught_up = snapshot(quiet_router)
    quiet_router.runner.rebuild(["tasks"])
    assert snapshot(quiet_router) == caught_up


def test_an_interrupted_rebuild_resumes_from_its_checkpoint(
    quiet_router: TaskRouter, clock: FakeClock
) -> None:
    random_history(quiet_router, clock, events=500, seed=9)
    expected = snapshot(quiet_router)
    quiet_router.runner.batch_size = 100
    batches = []

    def crash_after_two(checkpoint: int, head: int) -> None:
        batches.append(checkpoint)
        if len(batches) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        quiet_router.runner.rebuild(["tasks"], crash_after_two)
    assert quiet_router.read_model.projection_positions()[0]["tasks"] == 200
    quiet_router.runner.catch_up(["tasks"])
    assert snapshot(quiet_router) == expected
