"""The writer's cache of folded aggregates, kept current by the store: inside a write
transaction a cached state loads without a read, unless another process appended to its
stream since this one's last commit, or a command that appended to it was undone."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from application.aggregates import Aggregates, Change
from application.messages import MessageContext, StreamWrite
from domain.events import TaskCancelled
from domain.task import Task
from domain.values import TaskStatus
from infrastructure.sql.engine import Engines, create_engines
from infrastructure.sql.event_store import SqlEventStore
from tests.builders import task_queued
from tests.sqlite_support import migrated_engines, sql_store, sqlite_url

CONTEXT = MessageContext("test")
AT = datetime(2026, 1, 1, tzinfo=UTC)


class Counted(SqlEventStore):
    """The real store, counting the stream reads the cache makes."""

    reads = 0

    def read_stream(self, stream_id: str, after_version: int = 0) -> list:  # type: ignore[type-arg]
        self.reads += 1
        return super().read_stream(stream_id, after_version)


@pytest.fixture
def engines(tmp_path: Path) -> Iterator[Engines]:
    engines = migrated_engines(tmp_path)
    yield engines
    engines.dispose()


def writer(engines: Engines) -> tuple[Counted, Aggregates]:
    store = sql_store(engines)
    store.__class__ = Counted
    aggregates = Aggregates(store)
    store.keep_current(aggregates)
    return store, aggregates  # type: ignore[return-value]


def queue(aggregates: Aggregates, stream: str) -> None:
    loaded = aggregates.load(stream, Task.start)
    aggregates.save([Change(loaded, [task_queued(stream[5:])])], CONTEXT)


def queue_then_fail(aggregates: Aggregates, stream: str) -> None:
    queue(aggregates, stream)
    raise RuntimeError("the command failed after its append")


def test_a_state_cached_by_this_process_loads_without_a_read(engines: Engines) -> None:
    store, aggregates = writer(engines)
    with store.transaction():
        queue(aggregates, "task-a")
    store.reads = 0
    with store.transaction():
        loaded = aggregates.load("task-a", Task.start)
    assert loaded.version == 1
    assert store.reads == 0
    aggregates.load("task-a", Task.start)  # outside a transaction: checked against the log
    assert store.reads == 1


def test_another_process_appending_to_a_cached_stream_is_seen(
    engines: Engines, tmp_path: Path
) -> None:
    store, aggregates = writer(engines)
    with store.transaction():
        queue(aggregates, "task-a")
        queue(aggregates, "task-b")
    other_engines = create_engines(sqlite_url(tmp_path))
    try:
        other = sql_store(other_engines)
        cancelled = TaskCancelled("a", "by the other", AT, TaskStatus.QUEUED, None)
        other.append([StreamWrite("task-a", 1, [cancelled])], CONTEXT)
    finally:
        other_engines.dispose()
    store.reads = 0
    with store.transaction():
        fresh = aggregates.load("task-a", Task.start)
        untouched = aggregates.load("task-b", Task.start)
    assert fresh.version == 2, "the other process's event is folded in"
    assert fresh.state is not None
    assert fresh.state.status is TaskStatus.CANCELLED
    assert untouched.version == 1
    assert store.reads == 1, "only the stream the other process wrote is read again"


def test_a_command_undone_after_appending_leaves_nothing_cached(engines: Engines) -> None:
    store, aggregates = writer(engines)
    with store.transaction():
        with pytest.raises(RuntimeError), store.savepoint():
            queue_then_fail(aggregates, "task-a")
        queue(aggregates, "task-b")
    with store.transaction():
        assert aggregates.load("task-a", Task.start).version == 0
        assert aggregates.load("task-b", Task.start).version == 1


def test_a_transaction_rolled_back_leaves_nothing_cached(engines: Engines) -> None:
    store, aggregates = writer(engines)
    with store.transaction():
        queue(aggregates, "task-b")
    with pytest.raises(RuntimeError), store.transaction():
        queue_then_fail(aggregates, "task-a")
    with store.transaction():
        assert aggregates.load("task-a", Task.start).version == 0
