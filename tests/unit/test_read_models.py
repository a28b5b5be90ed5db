"""Every event type has its entry in every read model's fold, so a new event type cannot be
left out of one (an event that changes nothing there says so with `unchanged`)."""

import pytest

from application.read_models import pools, stats, tasks
from domain.events import EVENT_TYPES
from domain.task import MOVES

TASK_EVENTS = {name for name in EVENT_TYPES if name.startswith("Task")} | {"WorkerAssigned"}
"""Recorded on a task's stream."""
POOL_EVENTS = {name for name in EVENT_TYPES if name.startswith("Pool")} | {"WorkerPoolRegistered"}
"""Recorded on a pool's stream."""


@pytest.mark.parametrize("model", [tasks, pools, stats], ids=["tasks", "pools", "stats"])
def test_every_event_type_has_an_entry_in_every_read_model(model: object) -> None:
    changes = getattr(model, "CHANGES")  # noqa: B009
    assert set(changes) == set(EVENT_TYPES), (
        f"missing: {sorted(set(EVENT_TYPES) - set(changes))}, "
        f"unknown: {sorted(set(changes) - set(EVENT_TYPES))}"
    )


def test_every_task_event_moves_a_task_by_the_one_status_rule() -> None:
    assert set(MOVES) == TASK_EVENTS


def test_the_task_row_changes_for_task_events_and_the_pool_row_for_pool_events() -> None:
    changing_tasks = {name for name, f in tasks.CHANGES.items() if f is not tasks.unchanged}
    assert changing_tasks == TASK_EVENTS - {"TaskQueued"}, "TaskQueued makes the row: start"
    changing_pools = {name for name, f in pools.CHANGES.items() if f is not pools.unchanged}
    assert changing_pools == POOL_EVENTS - {"WorkerPoolRegistered"}, "registration: start"
