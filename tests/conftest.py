from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from application.aggregates import Aggregates
from application.bus import CommandBus, InlineSender
from application.commit_signal import CommitSignal
from infrastructure.structured_logging import configure_logging
from tests.fakes import FakeClock, InMemoryEventStore, SequentialIds
from tests.postgres_support import fresh_database

if TYPE_CHECKING:
    from tests.history_copies import HistoryCopies


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def signal() -> CommitSignal:
    return CommitSignal()


@pytest.fixture
def memory_store(clock: FakeClock, signal: CommitSignal) -> InMemoryEventStore:
    return InMemoryEventStore(clock, signal)


@pytest.fixture
def bus(memory_store: InMemoryEventStore, clock: FakeClock) -> CommandBus:
    return CommandBus(Aggregates(memory_store), clock, SequentialIds(), jitter=lambda: 0.5)


@pytest.fixture
def sender(bus: CommandBus) -> InlineSender:
    return InlineSender(bus)


@pytest.fixture(autouse=True, scope="session")
def _quiet_logs() -> None:
    """Only warnings and errors from the system under test reach the test output."""
    configure_logging("console", "WARNING")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database (skipped, with the reason, when none is configured)."""
    with fresh_database() as url:
        yield url


@pytest.fixture(scope="session")
def history_copies(tmp_path_factory: pytest.TempPathFactory) -> Iterator["HistoryCopies"]:
    """Random histories built once per test process, copied for each test (see
    tests/history_copies.py)."""
    from tests.history_copies import copies

    with copies(tmp_path_factory.mktemp("histories")) as built:
        yield built
