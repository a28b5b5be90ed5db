"""What-if replays on real histories: the algorithm actually used reproduces every
recorded placement and the recorded figures; another algorithm gives the same answer
every time, and a different one."""

import pytest

from application.audit.whatif import compare
from domain.values import Algorithm
from infrastructure.bootstrap import TaskRouter
from infrastructure.sql.replay_inputs import SqlReplayInputs
from tests.fakes import FakeClock
from tests.histories import scheduled_history


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_the_algorithm_actually_used_reproduces_the_recorded_placements(
    quiet_router: TaskRouter, clock: FakeClock, algorithm: Algorithm
) -> None:
    scheduled_history(quiet_router, clock, 1500, algorithm)
    inputs = SqlReplayInputs(quiet_router.engines.read)
    replay = compare(inputs.up_to(inputs.head()), algorithm)
    assert replay["algorithms_used"] == [str(algorithm)]
    assert replay["tasks"] > 150
    assert replay["placements_changed"] == 0
    assert replay["what_if"] == replay["actual"]
    assert replay["actual"]["mean_wait_s"] > 0, "the history should make tasks wait"


def test_another_algorithm_answers_the_same_every_time(
    quiet_router: TaskRouter, clock: FakeClock
) -> None:
    scheduled_history(quiet_router, clock, 1500, Algorithm.FIFO, seed=9)
    inputs = SqlReplayInputs(quiet_router.engines.read)
    first = compare(inputs.up_to(inputs.head()), Algorithm.MIN_COST)
    again = compare(inputs.up_to(inputs.head()), Algorithm.MIN_COST)
    assert first == again
    assert first["placements_changed"] > 0
    assert first["what_if"] != first["actual"]


def test_a_replay_up_to_an_earlier_position_sees_the_log_as_it_was(
    quiet_router: TaskRouter, clock: FakeClock
) -> None:
    scheduled_history(quiet_router, clock, 1200, Algorithm.PRIORITY, seed=4)
    inputs = SqlReplayInputs(quiet_router.engines.read)
    earlier = inputs.up_to(600)
    assert max(task.queued_position for task in earlier.tasks) <= 600
    assert all(
        task.finished_position is None or task.finished_position <= 600 for task in earlier.tasks
    )
    replay = compare(earlier, Algorithm.PRIORITY)
    assert replay["placements_changed"] == 0
    assert replay["what_if"] == replay["actual"]
