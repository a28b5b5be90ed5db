"""What-if replays on real histories: the algorithm actually used reproduces every
recorded placement and the recorded figures; another algorithm gives the same answer
every time, and a different one."""

import pytest

from application.audit.whatif import TenantOverride, compare
from application.commands.tenants import CreateTenant
from domain.errors import InvalidValue
from domain.values import Algorithm, Limits
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


TENANTS = (
    CreateTenant("team-a", 1.0),
    CreateTenant("team-b", 2.0, quota=Limits(cpu=6)),
    CreateTenant("team-c", 1.0, quota=Limits(cpu=4, gpu=2), borrowing=Limits(cpu=4, gpu=0)),
)


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_with_tenants_the_recorded_settings_reproduce_every_placement(
    quiet_router: TaskRouter, clock: FakeClock, algorithm: Algorithm
) -> None:
    """Fair share with weights, quotas and borrowing: the replay chooses whose task goes
    next as the live scheduler did."""
    scheduled_history(quiet_router, clock, 2500, algorithm, seed=5, tenants=TENANTS)
    inputs = SqlReplayInputs(quiet_router.engines.read).up_to(quiet_router.store.head())
    assert {change.tenant.name for change in inputs.tenant_changes} == {
        "team-a", "team-b", "team-c"
    }  # fmt: skip
    replay = compare(inputs, algorithm)
    assert replay["tasks"] > 250
    assert replay["placements_changed"] == 0
    assert replay["still_waiting"] == 0
    assert replay["what_if"] == replay["actual"]
    tenants = replay["tenants"]
    assert tenants["what_if"] == tenants["actual"]
    assert set(tenants["actual"]) == {"default", "team-a", "team-b", "team-c"}
    columns = zip(*(t["share_pct"] for t in tenants["actual"].values()), strict=True)
    shares = [sum(column) for column in columns]
    assert all(0 <= share <= 100.01 for share in shares)
    assert max(shares) > 20, "the history should keep the pools busy"


def test_other_weights_change_whose_tasks_wait(quiet_router: TaskRouter, clock: FakeClock) -> None:
    scheduled_history(quiet_router, clock, 2500, Algorithm.FIFO, seed=6, tenants=TENANTS)
    inputs = SqlReplayInputs(quiet_router.engines.read).up_to(quiet_router.store.head())
    favoured = {"team-a": TenantOverride(weight=50.0)}
    replay = compare(inputs, Algorithm.FIFO, overrides=favoured)
    assert replay == compare(inputs, Algorithm.FIFO, overrides=favoured)
    assert replay["placements_changed"] > 0
    a = replay["tenants"]
    assert a["what_if"]["team-a"]["mean_wait_s"] < a["actual"]["team-a"]["mean_wait_s"]
    with pytest.raises(InvalidValue, match="no task or setting of tenant team-z"):
        compare(inputs, Algorithm.FIFO, overrides={"team-z": TenantOverride(weight=2.0)})
