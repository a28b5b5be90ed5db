"""Verification on a real SQLite file: an untouched random history verifies clean; a payload
edited by hand, a deleted row and rows swapped are found at their position; a changed
algorithm (same version, new logic) is found by recomputation; the migration chains events
stored before it existed."""

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command

from application.audit.chain import ChainWalk
from application.audit.verify import AuditReport
from domain.events import TaskDeferred, WorkerAssigned
from domain.scheduling import DecisionRecord, algorithms
from domain.values import Algorithm
from infrastructure.bootstrap import TaskRouter
from infrastructure.sql import chain, migrate, pool_history, stored_events, verify_in_parts
from infrastructure.sql.db import reading
from infrastructure.sql.engine import create_engines
from tests.fakes import FakeClock
from tests.history_copies import HistoryCopies
from tests.sqlite_support import sqlite_url
from tests.unit.test_decision_records import board_at


@pytest.fixture
def history(
    history_copies: HistoryCopies, tmp_path: Path, clock: FakeClock
) -> Iterator[TaskRouter]:
    """A copy of a random history of 2,500 events in a SQLite file."""
    with history_copies.router("sqlite", 2500, 31, tmp_path, clock) as router:
        yield router


@pytest.fixture(params=["one pass", "two processes"])
def ways(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Verify the log in one pass here, or in two parts in two processes."""
    parts = request.param == "two processes"
    monkeypatch.setattr(verify_in_parts, "IN_PARTS_FROM", 0 if parts else 10**12)
    if parts:
        monkeypatch.setattr(verify_in_parts, "verify_log", one_pass_refused)
    return str(request.param)


def one_pass_refused(*args: object) -> AuditReport:
    raise AssertionError("the parts did not run: verification fell back to one pass")


def database_file(router: TaskRouter) -> str:
    database = router.engines.write.url.database
    assert database is not None
    return database


def tamper(router: TaskRouter, statement: str, *parameters: object) -> None:
    """Edit the SQLite file directly, as someone with the file (not the API) would."""
    router.store.close()
    with sqlite3.connect(database_file(router)) as db:
        db.execute(statement, parameters)


def decision_positions(router: TaskRouter) -> list[int]:
    with sqlite3.connect(database_file(router)) as db:
        rows = db.execute("SELECT position FROM events WHERE type = 'WorkerAssigned'")
        return [row[0] for row in rows]


def first_position(router: TaskRouter, event_type: str, after: int) -> int:
    with sqlite3.connect(database_file(router)) as db:
        row = db.execute(
            "SELECT MIN(position) FROM events WHERE type = ? AND position > ?", (event_type, after)
        ).fetchone()
        return int(row[0])


@pytest.mark.usefixtures("ways")
def test_an_untouched_history_verifies_clean(history: TaskRouter) -> None:
    report = history.audit()
    assert report.ok
    assert report.events_checked == report.head == history.store.head() >= 2500
    assert report.decisions_checked >= 200
    assert (report.mismatch_count, report.violation_count) == (0, 0)
    assert report.chain is not None
    assert report.chain.checked == report.head
    assert report.chain.first_broken is None


@pytest.mark.usefixtures("ways")
def test_a_hand_edited_payload_breaks_the_chain_there(history: TaskRouter) -> None:
    position = decision_positions(history)[40]
    tamper(
        history,
        "UPDATE events SET payload = replace(payload, '\"pools\":', '\"pools\":1') "
        "WHERE position = ?",
        position,
    )
    report = history.audit()
    assert not report.ok
    assert report.chain is not None
    assert report.chain.first_broken == position
    assert report.chain.checked == position - 1
    assert [finding.position for finding in report.mismatches] == [position]
    assert "pools" in report.mismatches[0].detail


@pytest.mark.usefixtures("ways")
def test_a_hand_edited_pool_event_before_a_decision_is_caught_twice(history: TaskRouter) -> None:
    """By the hash chain at the edited event, and by the digest of every decision made on
    that pool's state: the log no longer rebuilds what the scheduler saw."""
    position = first_position(history, "PoolCapacityChanged", after=decision_positions(history)[20])
    tamper(
        history,
        "UPDATE events SET payload = replace(payload, '\"capacity\":', '\"capacity\":9') "
        "WHERE position = ?",
        position,
    )
    report = history.audit()
    assert report.chain is not None
    assert report.chain.first_broken == position
    assert report.mismatch_count > 0
    assert all(finding.position > position for finding in report.mismatches)
    assert any("do not hash to the recorded digest" in f.detail for f in report.mismatches)


@pytest.mark.usefixtures("ways")
def test_a_deleted_row_is_reported_missing(history: TaskRouter) -> None:
    tamper(history, "DELETE FROM events WHERE position = 1234")
    report = history.audit()
    assert report.chain is not None
    assert report.chain.first_broken == 1234
    assert report.chain.problem == "position 1234 is missing"


@pytest.mark.usefixtures("ways")
def test_rows_swapped_between_positions_are_found(history: TaskRouter) -> None:
    tamper(history, "UPDATE events SET position = -1 WHERE position = 700")
    tamper(history, "UPDATE events SET position = 700 WHERE position = 701")
    tamper(history, "UPDATE events SET position = 701 WHERE position = -1")
    report = history.audit()
    assert report.chain is not None
    assert report.chain.first_broken == 700


@pytest.mark.parametrize("share", [0.3, 0.7])
def test_two_processes_find_exactly_what_one_pass_finds(
    history: TaskRouter, monkeypatch: pytest.MonkeyPatch, share: float
) -> None:
    """A pool event edited, a task's completion duplicated by hand and a row deleted, on
    both sides of where the log is split: the same report, finding for finding."""
    decisions = decision_positions(history)
    edited = first_position(history, "PoolCapacityChanged", after=decisions[10])
    tamper(
        history,
        "UPDATE events SET payload = replace(payload, '\"capacity\":', '\"capacity\":9') "
        "WHERE position = ?",
        edited,
    )
    completed = first_position(history, "TaskCompleted", after=int(history.store.head() * 0.8))
    tamper(
        history,
        "UPDATE events SET type = 'TaskCompleted', payload = (SELECT payload FROM events "
        "WHERE position = ?) WHERE position = ?",
        completed,
        completed + 1,
    )
    monkeypatch.setattr(verify_in_parts, "IN_PARTS_FROM", 10**12)
    one_pass = history.audit()
    monkeypatch.setattr(verify_in_parts, "IN_PARTS_FROM", 0)
    monkeypatch.setattr(verify_in_parts, "FIRST_SHARE", share)
    monkeypatch.setattr(verify_in_parts, "verify_log", one_pass_refused)
    in_parts = history.audit()
    assert one_pass.mismatch_count > 0
    assert one_pass.violation_count > 0
    assert in_parts == one_pass


def test_an_algorithm_changed_without_a_new_version_is_caught(
    history: TaskRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    most_expensive = algorithms.Ranking(
        lambda task: (("-cost_per_unit",), lambda pool: (-pool.cost_per_unit,)),
        lambda task, chosen: "most expensive",
    )
    for algorithm in Algorithm:
        monkeypatch.setitem(algorithms.RANKINGS, (algorithm, 1), most_expensive)
    report = history.audit()
    assert report.mismatch_count > 0
    assert report.chain is not None
    assert report.chain.first_broken is None, "the stored log itself is untouched"
    assert "recorded" in report.mismatches[0].detail
    assert "recomputed" in report.mismatches[0].detail


def test_the_migration_chains_events_stored_before_it(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    engines = create_engines(url)
    command.upgrade(migrate.alembic_config(url), "0002")
    with sqlite3.connect(tmp_path / "taskrouterx.db") as db:
        db.executemany(
            f"INSERT INTO events ({chain.ROW}) VALUES ({', '.join('?' * 11)})",
            [
                (p, f"s-{p % 3}", p, "PoolSlotClaimed", 1, "{}", f"e{p}", "c", None, "t", "x")
                for p in range(1, 25_001)
            ],
        )
    migrate.upgrade(engines.write)
    walk, after = ChainWalk(), 0
    with reading(engines.read, transaction=True) as db:
        while page := stored_events.read_checked(db, after, 10_000):
            for event in page:
                walk.step(event)
            after = page[-1].position
    engines.dispose()
    report = walk.report
    assert (report.checked, report.first_broken) == (25_000, None)


def test_the_pools_at_any_position_come_alike_from_checkpoints_and_from_a_whole_fold(
    history: TaskRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every decision's board, from the checkpointed pool history (a block of 100
    positions here, so thousands of events cross many) and from folding the log up to it."""
    monkeypatch.setattr(pool_history, "BLOCK", 100)
    boards = pool_history.PoolHistory(history.engines.read)
    events = history.store.read_all(0, 100_000)
    records = [
        (recorded.position, recorded.event.decision)
        for recorded in events
        if isinstance(recorded.event, WorkerAssigned | TaskDeferred)
        and isinstance(recorded.event.decision, DecisionRecord)
    ]
    assert len(records) > 300
    for position, record in records[::-1][:150] + records[:150]:
        folded = board_at(events, record.seen, position, record.run)
        rebuilt = [pool for pool, _ in boards.inputs(record.seen, position, record.run)]
        assert rebuilt == folded, position
