"""The timekeeper survives a restart: rebuilt from the read models at one log position,
it holds exactly the due times the running one folded from the log."""

from dataclasses import replace

import pytest

from application.bus import InlineSender
from application.lifecycle.due_times import Due
from application.lifecycle.timekeeper import Timekeeper
from infrastructure.bootstrap import TaskRouter
from infrastructure.sql.state_sources import SqlStateSource
from tests.fakes import FakeClock
from tests.histories import random_history


def comparable(dues: list[Due]) -> list[Due]:
    """The correlation id is only a label for the commands: a restored due time carries
    the task's, a folded one that of the event that set it."""
    return [replace(due, correlation_id="") for due in dues]


@pytest.mark.parametrize("seed", [16, 19, 25])
def test_a_restarted_timekeeper_has_the_due_times_of_the_running_one(
    quiet_router: TaskRouter, clock: FakeClock, seed: int
) -> None:
    reactors = random_history(quiet_router, clock, events=2500, seed=seed)
    running = reactors.keeper
    running.catch_up()
    restarted = Timekeeper(
        quiet_router.store,
        InlineSender(quiet_router.bus),
        SqlStateSource(quiet_router.engines.read),
        quiet_router.signal,
        clock,
    )
    restarted.restore()
    due = comparable(running.due.pending())
    assert len(due) > 10, "the history should leave delays, leases and timeouts pending"
    assert {d.kind for d in due} == {"ready", "lease", "timeout"}
    assert comparable(restarted.due.pending()) == due
