"""Group commit inserts a batch's rows as its transaction ends (one statement on
PostgreSQL, not one round trip per command). What a command sees and what it is told stay
as they were: it reads its own batch's appends, a stale version on a stream the batch
already wrote is refused at once, and one found only as the rows go in rolls the batch
back and runs it again with every append checked, so only that command fails."""

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from application.errors import ConcurrencyConflict
from application.messages import MessageContext, StreamWrite
from infrastructure.single_writer import SingleWriter
from infrastructure.sql.event_store import SqlEventStore
from tests.builders import task_queued
from tests.sqlite_support import store_on

CONTEXT = MessageContext("test")


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlEventStore]:
    with store_on(request.param, tmp_path) as store:
        yield store


def append(store: SqlEventStore, stream: str, expected: int) -> Callable[[], int]:
    def job() -> int:
        recorded = store.append([StreamWrite(stream, expected, [task_queued(stream)])], CONTEXT)
        return recorded[-1].position

    return job


def counted(job: Callable[[], Any], runs: list[str], name: str) -> Callable[[], Any]:
    def counting() -> Any:
        runs.append(name)
        return job()

    return counting


def one_batch(store: SqlEventStore, jobs: list[Callable[[], Any]]) -> list["Future[Any]"]:
    """Run the jobs through the single writer as one group commit: queued behind a job
    that holds the writer until all of them are in."""
    writer = SingleWriter(bus=None, transactions=store)  # type: ignore[arg-type]
    writer.start()
    gate = threading.Event()
    blocker = writer.run(gate.wait)
    futures = [writer.run(job, batchable=True) for job in jobs]
    gate.set()
    try:
        assert blocker.result(10)
        for future in futures:
            future.exception(10)
    finally:
        writer.stop()
    assert writer.batches == 1
    return futures


def test_a_conflict_found_at_commit_fails_only_its_command(store: SqlEventStore) -> None:
    store.append([StreamWrite("task-b", 0, [task_queued("b")])], CONTEXT)
    runs: list[str] = []
    a, b, c = one_batch(
        store,
        [
            counted(append(store, "task-a", 0), runs, "a"),
            counted(append(store, "task-b", 0), runs, "b"),  # task-b is at version 1
            counted(append(store, "task-c", 0), runs, "c"),
        ],
    )

    assert (a.result(), c.result()) == (2, 3)
    conflict = b.exception()
    assert isinstance(conflict, ConcurrencyConflict)
    assert (conflict.stream_id, conflict.expected, conflict.actual) == ("task-b", 0, 1)
    assert runs == ["a", "b", "c"] * 2, "rolled back at commit, then run again checked"
    assert [(e.position, e.stream_id) for e in store.read_all()] == [
        (1, "task-b"),
        (2, "task-a"),
        (3, "task-c"),
    ]


def test_a_stale_version_on_a_stream_the_batch_wrote_is_refused_at_once(
    store: SqlEventStore,
) -> None:
    runs: list[str] = []
    first, stale, next_version = one_batch(
        store,
        [
            counted(append(store, "task-x", 0), runs, "first"),
            counted(append(store, "task-x", 0), runs, "stale"),
            counted(append(store, "task-x", 1), runs, "next"),
        ],
    )

    assert (first.result(), next_version.result()) == (1, 2)
    assert isinstance(stale.exception(), ConcurrencyConflict)
    assert runs == ["first", "stale", "next"], "no second run was needed"
    assert [e.version for e in store.read_stream("task-x")] == [1, 2]


def test_a_command_reads_what_its_batch_appended_before_the_rows_are_in(
    store: SqlEventStore,
) -> None:
    store.append([StreamWrite("task-old", 0, [task_queued("old")])], CONTEXT)

    def reads() -> list[tuple[str, int, int]]:
        return [
            (e.stream_id, e.version, e.position)
            for stream in ("task-new", "task-old")
            for e in store.read_stream(stream)
        ] + [(e.stream_id, e.version, e.position) for e in store.read_stream("task-old", 1)]

    new, old, seen = one_batch(
        store,
        [append(store, "task-new", 0), append(store, "task-old", 1), reads],
    )

    assert (new.result(), old.result()) == (2, 3)
    assert seen.result() == [
        ("task-new", 1, 2),
        ("task-old", 1, 1),
        ("task-old", 2, 3),
        ("task-old", 2, 3),
    ]


def test_a_failed_command_leaves_no_row_of_its_own(store: SqlEventStore) -> None:
    def appends_then_fails() -> None:
        append(store, "task-f", 0)()
        raise RuntimeError("failed after its append")

    kept, failed, after = one_batch(
        store, [append(store, "task-k", 0), appends_then_fails, append(store, "task-f", 0)]
    )

    assert isinstance(failed.exception(), RuntimeError)
    assert (kept.result(), after.result()) == (1, 2)
    assert [(e.position, e.stream_id, e.version) for e in store.read_all()] == [
        (1, "task-k", 1),
        (2, "task-f", 1),
    ]
