"""The whole write path on PostgreSQL: a random history of commands through the real bus
and scheduler, with the projections folded inline; a rebuild from the log equals them,
the CLI's rebuild works there too, and the log verifies."""

from collections.abc import Iterator

import pytest

from application.audit.whatif import compare
from domain.values import Algorithm
from infrastructure.bootstrap import TaskRouter, bootstrap
from infrastructure.clock import RandomIds
from infrastructure.settings import Settings
from infrastructure.sql import migrate
from infrastructure.sql.replay_inputs import SqlReplayInputs
from tests.fakes import FakeClock
from tests.histories import random_history, scheduled_history
from tests.integration.test_projections import snapshot
from tests.integration.test_time_travel import assert_as_of_matches, live_state


@pytest.fixture
def postgres_router(postgres_url: str, clock: FakeClock) -> Iterator[TaskRouter]:
    settings = Settings(database_url=postgres_url, scheduler="off", simulator="off")
    router = bootstrap(settings, clock=clock, ids=RandomIds(3))
    migrate.upgrade(router.engines.write)
    yield router
    router.store.close()
    router.engines.dispose()


def test_projections_and_audit_hold_on_postgresql(
    postgres_router: TaskRouter, clock: FakeClock
) -> None:
    random_history(postgres_router, clock, events=1500, seed=12)
    live = snapshot(postgres_router)
    assert len(live["tasks"]) > 100
    postgres_router.runner.rebuild(postgres_router.runner.names)
    assert snapshot(postgres_router) == live
    head = postgres_router.runner.rebuild_at_once(postgres_router.runner.names)
    assert head == postgres_router.store.head()
    assert snapshot(postgres_router) == live
    report = postgres_router.audit()
    assert report.ok
    assert report.decisions_checked > 100


def test_as_of_equals_the_live_state_on_postgresql(
    postgres_router: TaskRouter, clock: FakeClock
) -> None:
    captured = []
    reactors = None
    for seed, events in enumerate((500, 1000)):
        reactors = random_history(postgres_router, clock, events, seed=seed, reactors=reactors)
        captured.append(live_state(postgres_router))
        clock.advance(0.5)
    assert_as_of_matches(postgres_router, captured)
    assert captured[-1]["stats"]["tasks_completed"] > 0


def test_a_what_if_on_postgresql_reproduces_the_recorded_placements(
    postgres_router: TaskRouter, clock: FakeClock
) -> None:
    scheduled_history(postgres_router, clock, 1000, Algorithm.PRIORITY, seed=4)
    inputs = SqlReplayInputs(postgres_router.engines.read)
    for position in (500, inputs.head()):
        replay = compare(inputs.up_to(position), Algorithm.PRIORITY)
        assert replay["tasks"] > 50
        assert replay["placements_changed"] == 0
        assert replay["what_if"] == replay["actual"]
