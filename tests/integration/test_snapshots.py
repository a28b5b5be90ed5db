"""Snapshots on a real store, SQLite and PostgreSQL: written in the transaction of every
`SNAPSHOT_EVERY`-th event of a pool's or the scheduler's stream, equal to the fold of the
events they stand for, rebuilt alike, and what a restarted service loads a pool from."""

import json
import time
from collections.abc import Iterator

import pytest

from application.commands.change_pool_capacity import ChangePoolCapacity
from application.commands.submit_task import SubmitTask
from application.commands.switch_algorithm import SwitchAlgorithm
from application.messages import MessageContext, RecordedEvent
from application.snapshots import folded
from domain.scheduler_config import SCHEDULER_STREAM
from domain.values import Algorithm, TaskStatus, TaskType
from infrastructure.bootstrap import TaskRouter, bootstrap
from infrastructure.codec import encode_state
from infrastructure.settings import Settings
from infrastructure.sql import snapshots, verify_in_parts
from infrastructure.sql.db import reading, sql, writing
from tests.integration.test_audit_verify import one_pass_refused
from tests.sqlite_support import sqlite_url

EVERY = 10
CTX = MessageContext("snapshots")
ROWS = sql("SELECT stream_id, version, position, state, digest FROM snapshots ORDER BY stream_id")
EDIT = sql("UPDATE snapshots SET state = ?, digest = ? WHERE stream_id = ?")
EDIT_DIGEST = sql("UPDATE snapshots SET digest = ? WHERE stream_id = ?")


def started(url: str) -> TaskRouter:
    router = bootstrap(
        Settings(
            database_url=url,
            snapshot_every=EVERY,
            sim_min_latency_s=0.0,
            sim_max_latency_s=0.0,
            sim_failure_rate=0.0,
            sim_seed=5,
            id_seed=5,
            verify_continuously=False,
        )
    )
    router.start()
    return router


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path)  # type: ignore[arg-type]
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def worked(url: str) -> Iterator[TaskRouter]:
    """60 tasks done on the demo pools and the algorithm switched 12 times."""
    router = started(url)
    for index in range(60):
        region = ("us-east", "us-west", "eu-west", "ap-east")[index % 4]
        task = SubmitTask(TaskType.ORDER, 1 + index % 10, 1.0, region)
        router.sender.submit(task, CTX).result(10)
    for index in range(12):
        algorithm = [Algorithm.MIN_COST, Algorithm.FIFO][index % 2]
        router.sender.submit(SwitchAlgorithm(algorithm), CTX).result(10)
    deadline = time.monotonic() + 30
    while router.read_model.status_counts().get(TaskStatus.COMPLETED, 0) < 60:
        assert time.monotonic() < deadline, "the tasks did not complete"
        time.sleep(0.02)
    yield router
    router.stop()


def stored(router: TaskRouter) -> list[tuple[object, ...]]:
    with reading(router.engines.read) as db:
        return [tuple(row) for row in db.execute(ROWS)]


def stream(router: TaskRouter, stream_id: str) -> list[RecordedEvent]:
    return router.store.read_stream(stream_id)


def stream_reads(router: TaskRouter, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """From here on, each (stream, version read after) the router's store is asked for."""
    reads: list[tuple[str, int]] = []
    read_stream = router.store.read_stream

    def spied(stream: str, after_version: int = 0) -> list[RecordedEvent]:
        reads.append((stream, after_version))
        return read_stream(stream, after_version)

    monkeypatch.setattr(router.store, "read_stream", spied)
    return reads


def test_busy_streams_get_snapshots_equal_to_the_fold_of_their_events(worked: TaskRouter) -> None:
    rows = stored(worked)
    streams = {row[0] for row in rows}
    assert SCHEDULER_STREAM in streams
    assert sum(1 for stream_id in streams if str(stream_id).startswith("pool-")) >= 4
    assert not any(str(stream_id).startswith("task-") for stream_id in streams), "5 events"
    for stream_id, version, position, state, digest in rows:
        events = stream(worked, str(stream_id))
        assert version == len(events) // EVERY * EVERY, stream_id
        assert position == events[int(version) - 1].position  # type: ignore[call-overload]
        fold = folded(str(stream_id), None, [e.event for e in events[: int(version)]])  # type: ignore[call-overload]
        assert state == encode_state(fold), stream_id
        assert digest == snapshots.digest(str(state))


def test_a_rebuild_writes_the_same_snapshots(worked: TaskRouter) -> None:
    before = stored(worked)
    worked.runner.rebuild_at_once(["snapshots"])
    assert stored(worked) == before


def test_a_restarted_service_loads_a_pool_from_its_snapshot(
    worked: TaskRouter, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    worked.stop()
    (stream_id, version) = next(
        (row[0], row[1]) for row in stored(worked) if str(row[0]).startswith("pool-")
    )
    pool_id = str(stream_id).removeprefix("pool-")
    again = started(url)
    try:
        reads = stream_reads(again, monkeypatch)
        again.sender.submit(ChangePoolCapacity(pool_id, 50), CTX).result(10)
        assert (stream_id, version) in reads
        assert (stream_id, 0) not in reads
        assert again.read_model.get_pool(pool_id)["capacity"] == 50  # type: ignore[index]
    finally:
        again.stop()


@pytest.mark.parametrize("in_parts", [False, True], ids=["one pass", "two processes"])
def test_verification_holds_every_snapshot_against_the_fold_of_the_log(
    worked: TaskRouter, monkeypatch: pytest.MonkeyPatch, in_parts: bool
) -> None:
    monkeypatch.setattr(verify_in_parts, "IN_PARTS_FROM", 0 if in_parts else 10**12)
    if in_parts:
        monkeypatch.setattr(verify_in_parts, "verify_log", one_pass_refused)
    rows = stored(worked)
    clean = worked.audit()
    assert clean.ok
    assert clean.snapshots_checked == len(rows) >= 5

    pool = next(row for row in rows if str(row[0]).startswith("pool-"))
    state = json.loads(str(pool[3]))
    state["load"] += 1  # a snapshot edited by hand, its digest made to match
    edited = json.dumps(state)
    with writing(worked.engines.write) as db:
        db.execute(EDIT, (edited, snapshots.digest(edited), pool[0]))
        db.execute(EDIT_DIGEST, ("0" * 64, SCHEDULER_STREAM))
    report = worked.audit()
    assert report.snapshots_checked == len(rows)
    found = {(f.stream_id, f.position): f.detail for f in report.mismatches}
    assert found == {
        (pool[0], pool[2]): f"snapshot at version {pool[1]}: load is {state['load']}, "
        f"the log folds to {state['load'] - 1}",
        (SCHEDULER_STREAM, next(r[2] for r in rows if r[0] == SCHEDULER_STREAM)): (
            f"snapshot at version {next(r[1] for r in rows if r[0] == SCHEDULER_STREAM)}: "
            "its stored state does not hash to its stored digest"
        ),
    }


def test_a_snapshot_that_does_not_hash_to_its_digest_is_passed_over(
    worked: TaskRouter, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    worked.stop()
    pool = next(row for row in stored(worked) if str(row[0]).startswith("pool-"))
    state = json.loads(str(pool[3]))
    state["capacity"] = 1  # edited by hand, the digest left as it was
    with writing(worked.engines.write) as db:
        db.execute(EDIT, (json.dumps(state), str(pool[4]), pool[0]))
    again = started(url)
    try:
        reads = stream_reads(again, monkeypatch)
        pool_id = str(pool[0]).removeprefix("pool-")
        again.sender.submit(ChangePoolCapacity(pool_id, 40), CTX).result(10)
        assert (pool[0], 0) in reads, "folded whole, not from the edited snapshot"
        assert again.read_model.get_pool(pool_id)["capacity"] == 40  # type: ignore[index]
    finally:
        again.stop()
