"""One contract, every EventStore implementation: the in-memory fake, SQLite and
PostgreSQL (skipped, with the reason, when no PostgreSQL server is configured)."""

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest

from application.errors import ConcurrencyConflict
from application.messages import MessageContext, StreamWrite
from application.ports import EventStore
from domain.events import PoolSlotClaimed, WorkerAssigned
from domain.scheduling import decide
from domain.scheduling.decision import PoolSnapshot, TaskSnapshot
from domain.values import Algorithm, ResourceType, TaskType
from infrastructure.sql import migrate
from infrastructure.sql.engine import create_engines
from tests.builders import task_queued
from tests.fakes import InMemoryEventStore
from tests.postgres_support import fresh_database
from tests.sqlite_support import sql_store, sqlite_url, store_on

CTX = MessageContext("corr-1", "cause-1", "tester")
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    if request.param == "memory":
        yield InMemoryEventStore()
        return
    with store_on(request.param, tmp_path) as store:
        yield store


def claimed(task_id: str) -> PoolSlotClaimed:
    return PoolSlotClaimed("p", task_id)


def test_append_numbers_positions_and_versions(store: EventStore) -> None:
    recorded = store.append([StreamWrite("s-1", 0, [claimed("a"), claimed("b")])], CTX)
    assert [(r.position, r.version) for r in recorded] == [(1, 1), (2, 2)]
    recorded = store.append(
        [StreamWrite("s-2", 0, [claimed("c")]), StreamWrite("s-1", 2, [claimed("d")])], CTX
    )
    assert [(r.stream_id, r.position, r.version) for r in recorded] == [
        ("s-2", 3, 1),
        ("s-1", 4, 3),
    ]
    assert store.head() == 4


def test_stale_version_conflicts_and_writes_nothing(store: EventStore) -> None:
    store.append([StreamWrite("s-1", 0, [claimed("a")])], CTX)
    with pytest.raises(ConcurrencyConflict) as raised:
        store.append([StreamWrite("s-1", 0, [claimed("b")])], CTX)
    assert (raised.value.expected, raised.value.actual) == (0, 1)
    assert store.head() == 1
    assert [r.event for r in store.read_stream("s-1")] == [claimed("a")]


def test_multi_stream_append_is_atomic(store: EventStore) -> None:
    store.append([StreamWrite("pool", 0, [claimed("a")])], CTX)
    with pytest.raises(ConcurrencyConflict):
        store.append(
            [StreamWrite("task", 0, [claimed("x")]), StreamWrite("pool", 0, [claimed("y")])], CTX
        )
    assert store.read_stream("task") == []
    assert store.head() == 1


def test_reads(store: EventStore) -> None:
    for index in range(5):
        store.append([StreamWrite(f"s-{index % 2}", index // 2, [claimed(str(index))])], CTX)
    assert [r.event.task_id for r in store.read_stream("s-0")] == ["0", "2", "4"]  # type: ignore[attr-defined]
    assert [r.version for r in store.read_stream("s-0", after_version=1)] == [2, 3]
    assert [r.position for r in store.read_all(0, 2)] == [1, 2]
    assert [r.position for r in store.read_all(2, 10)] == [3, 4, 5]
    assert store.read_all(5, 10) == []


def test_metadata_and_payload_round_trip(store: EventStore) -> None:
    pools = [PoolSnapshot("p1", "us-cpu", "us", ResourceType.CPU, 0.5, 4, 1, 1)]
    decision = decide(Algorithm.MIN_COST, TaskSnapshot("t1", 7, "us", ResourceType.CPU), pools)
    events = [
        task_queued(
            "t1",
            TaskType.SIMULATION,
            7,
            2.5,
            "us",
            ResourceType.CPU,
            {"nested": {"k": [1, "two", None]}},
            NOW,
            not_before=NOW,
        ),
        WorkerAssigned("t1", "p1", "us-cpu", decision, NOW),
    ]
    store.append([StreamWrite("task-t1", 0, events)], CTX)
    stored = store.read_stream("task-t1")
    assert [r.event for r in stored] == events
    metadata = stored[0].metadata
    assert (metadata.correlation_id, metadata.causation_id, metadata.actor) == (
        "corr-1",
        "cause-1",
        "tester",
    )
    assert metadata.recorded_at.tzinfo is not None
    assert stored[0].metadata.event_id != stored[1].metadata.event_id


def test_concurrent_writers_get_gap_free_positions(store: EventStore) -> None:
    writers, per_writer = 8, 25
    barrier = threading.Barrier(writers)

    def write(writer: int) -> None:
        barrier.wait()
        for index in range(per_writer):
            store.append([StreamWrite(f"w-{writer}", index, [claimed(f"{writer}-{index}")])], CTX)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = store.read_all(0, 10_000)
    assert [r.position for r in everything] == list(range(1, writers * per_writer + 1))
    for writer in range(writers):
        stream = store.read_stream(f"w-{writer}")
        assert [r.event.task_id for r in stream] == [f"{writer}-{i}" for i in range(per_writer)]  # type: ignore[attr-defined]


def test_a_tailing_reader_never_sees_a_gap_filled_later(store: EventStore) -> None:
    """The sequence-gap bug: with positions allocated before commit, a reader can see
    N+1 committed while N is still in flight, move past N, and never read it. Here a
    reader follows the log while 8 writers append, and every page it reads must start
    right after the last position it saw."""
    writers, per_writer = 8, 40
    done = threading.Event()
    jumps: list[tuple[int, int]] = []
    seen: list[int] = []

    def follow() -> None:
        last = 0
        while not done.is_set() or last < store.head():
            for recorded in store.read_all(last, 50):
                if recorded.position != last + 1:
                    jumps.append((last, recorded.position))
                last = recorded.position
                seen.append(last)

    def write(writer: int) -> None:
        for index in range(per_writer):
            store.append([StreamWrite(f"t-{writer}", index, [claimed(f"{writer}-{index}")])], CTX)

    reader = threading.Thread(target=follow)
    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    reader.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    reader.join(timeout=60)
    assert jumps == []
    assert seen == list(range(1, writers * per_writer + 1))


WRITING_PROCESS = """
import sys, threading
from application.messages import MessageContext, StreamWrite
from domain.events import PoolSlotClaimed
from infrastructure.sql.engine import create_engines
from tests.sqlite_support import sql_store

url, process, writers, per_writer = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
store = sql_store(create_engines(url))
context = MessageContext("corr", None, "writer")

def write(writer):
    for index in range(per_writer):
        event = PoolSlotClaimed("p", f"{process}-{writer}-{index}")
        store.append([StreamWrite(f"t-{process}-{writer}", index, [event])], context)

threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_tailing_reader_never_sees_a_gap_with_writers_in_two_processes(
    backend: str, tmp_path: Path
) -> None:
    """As above, the 8 writers split between two other processes (two nodes, on
    PostgreSQL): positions are allocated and committed in order across processes too."""
    with ExitStack() as stack:
        url = sqlite_url(tmp_path) if backend == "sqlite" else stack.enter_context(fresh_database())
        engines = create_engines(url)
        stack.callback(engines.dispose)
        migrate.upgrade(engines.write)
        store = sql_store(engines)
        writers, per_writer = 4, 40
        command = [sys.executable, "-c", WRITING_PROCESS, url]
        environment = {**os.environ, "PYTHONPATH": "."}
        processes = [
            subprocess.Popen(
                [*command, name, str(writers), str(per_writer)],
                env=environment,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name in ("a", "b")
        ]
        jumps: list[tuple[int, int]] = []
        seen: list[int] = []
        last = 0
        while any(p.poll() is None for p in processes) or last < store.head():
            for recorded in store.read_all(last, 50):
                if recorded.position != last + 1:
                    jumps.append((last, recorded.position))
                last = recorded.position
                seen.append(last)
        for process in processes:
            assert process.wait() == 0, process.stderr.read() if process.stderr else ""
    assert jumps == []
    assert seen == list(range(1, 2 * writers * per_writer + 1))


def test_racing_writers_on_one_stream_one_wins_each_version(store: EventStore) -> None:
    writers = 6
    barrier = threading.Barrier(writers)
    wins: list[int] = []
    conflicts: list[int] = []

    def write(writer: int) -> None:
        barrier.wait()
        try:
            store.append([StreamWrite("contested", 0, [claimed(str(writer))])], CTX)
            wins.append(writer)
        except ConcurrencyConflict:
            conflicts.append(writer)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == 1
    assert len(conflicts) == writers - 1
    assert len(store.read_stream("contested")) == 1


def test_read_types_filters_and_reports_how_far_it_read(store: EventStore) -> None:
    from domain.events import PoolSlotReleased

    for index in range(6):
        event = claimed(str(index)) if index % 2 else PoolSlotReleased("p", str(index), "done")
        store.append([StreamWrite(f"s-{index}", 0, [event])], CTX)
    wanted = frozenset({"PoolSlotClaimed"})
    events, reached = store.read_types(0, wanted, limit=10)
    assert [e.position for e in events] == [2, 4, 6]
    assert reached == 6
    events, reached = store.read_types(0, wanted, limit=2)
    assert ([e.position for e in events], reached) == ([2, 4], 4)
    events, reached = store.read_types(0, frozenset({"TaskQueued"}), limit=2)
    assert (events, reached) == ([], 6), "nothing matched, but the whole log was read"
