"""Time travel equals the live state at the same position: the live read models are
captured at several points of a random history, the history goes on, and `as_of` those
positions must answer exactly what the live models answered then."""

from typing import Any

import pytest
from sqlalchemy import text

from infrastructure.bootstrap import TaskRouter
from infrastructure.sql import time_travel
from infrastructure.sql.timestamps import parse
from tests.fakes import FakeClock
from tests.histories import random_history


def live_state(router: TaskRouter) -> dict[str, Any]:
    with router.engines.read.connect() as connection:
        head, stamp = connection.execute(
            text("SELECT position, recorded_at FROM events ORDER BY position DESC LIMIT 1")
        ).one()
        task_ids = connection.execute(
            text("SELECT id FROM tasks ORDER BY queued_position DESC LIMIT 25")
        ).scalars()
        tasks = {task_id: router.read_model.get_task(task_id) for task_id in task_ids}
    return {
        "head": head,
        "moment": parse(stamp),
        "tasks": tasks,
        "pools": router.read_model.list_pools(),
        "stats": router.read_model.stats(parse(stamp)),
    }


def assert_as_of_matches(router: TaskRouter, captured: list[dict[str, Any]]) -> None:
    """Time travel to each captured position answers what the live models answered."""
    history = router.time_travel
    for state in captured:
        position = state["head"]
        assert history.stats(position) == state["stats"]
        assert history.pools(position) == state["pools"]
        for task_id, task in state["tasks"].items():
            assert history.task(task_id, position) == task
        assert history.position_at(state["moment"]) == position


@pytest.mark.parametrize("block", [50_000, 700])
def test_as_of_equals_the_live_state_at_that_position(
    quiet_router: TaskRouter, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    monkeypatch.setattr(time_travel, "BLOCK", block)
    captured = []
    reactors = None
    for seed, events in enumerate((800, 1600, 2400, 3200)):
        reactors = random_history(quiet_router, clock, events, seed=seed, reactors=reactors)
        captured.append(live_state(quiet_router))
        clock.advance(0.5)

    assert_as_of_matches(quiet_router, captured)
    assert captured[-1]["stats"]["tasks_completed"] > 0
    assert all(state["stats"]["throughput"] > 0 for state in captured)
    assert captured[0]["stats"] != captured[-1]["stats"]


def test_a_task_did_not_exist_before_it_was_queued(
    quiet_router: TaskRouter, clock: FakeClock
) -> None:
    random_history(quiet_router, clock, 300, seed=2)
    with quiet_router.engines.read.connect() as connection:
        task_id, queued_at = connection.execute(
            text("SELECT id, queued_position FROM tasks ORDER BY queued_position DESC LIMIT 1")
        ).one()
    history = quiet_router.time_travel
    assert history.task(task_id, queued_at - 1) is None
    assert history.task(task_id, queued_at) is not None
    assert history.position_at(parse("2000-01-01T00:00:00+00:00")) == 0
    assert history.stats(0)["tasks_pending"] == 0
    assert history.pools(0) == []
