"""Retention on a real store, SQLite and PostgreSQL: the events recorded longer ago than
ARCHIVE_AFTER are archived and removed in bounded batches, nothing newer; the history stays
verifiable across both tiers; a SQLite file gives the pages back."""

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from infrastructure.archive import segments
from infrastructure.archive.retention import Retention
from infrastructure.bootstrap import TaskRouter, bootstrap
from infrastructure.clock import RandomIds
from infrastructure.housekeeping import Housekeeping
from infrastructure.settings import Settings
from infrastructure.sql import migrate, stored_events
from infrastructure.sql.db import reading, sql, writing
from tests.fakes import FakeClock
from tests.histories import random_history, restored_reactors
from tests.history_copies import HistoryCopies
from tests.sqlite_support import sqlite_url

RECORDED = sql("SELECT position, recorded_at FROM events ORDER BY position")
AFTER = timedelta(minutes=5)


@pytest.fixture
def history(
    backend: str, history_copies: HistoryCopies, tmp_path: Path, clock: FakeClock
) -> Iterator[TaskRouter]:
    """A copy of a random history of 3,000 events; `clock` at its end."""
    with history_copies.router(backend, 3000, 7, tmp_path, clock) as router:
        yield router


def retention(router: TaskRouter, clock: FakeClock, directory: Path) -> Retention:
    return Retention(
        router.engines.read, router.engines.write, directory, AFTER, clock,
        router.time_travel.position_at, batch_events=700, step_events=150, duty=1.0,
    )  # fmt: skip


def test_what_is_older_than_the_setting_is_archived_in_batches_and_nothing_newer(
    history: TaskRouter, clock: FakeClock, tmp_path: Path
) -> None:
    with reading(history.engines.read) as db:
        recorded = [(int(p), str(at)) for p, at in db.execute(RECORDED)]
    before = history.audit()
    keeper = retention(history, clock, tmp_path / "archive")
    due = history.time_travel.position_at(clock.now() - AFTER)
    assert 1000 < due < len(recorded), "the history spans more than the retention"

    batches = 0
    while keeper.run_once():
        batches += 1
        assert keeper.last is not None
        assert keeper.last.archived <= 700
    assert batches >= 2, "a bounded batch at a time"
    with reading(history.engines.read) as db:
        head, start = stored_events.bounds(db)
    assert due - 50 <= start <= due, "everything due, short of a scheduler run's straddle"
    cutoff = (clock.now() - AFTER).isoformat()
    assert all(at > cutoff for position, at in recorded if position > due), "nothing newer"
    assert segments.manifests(tmp_path / "archive")[-1].last_position >= start

    after = history.audit()
    assert after.ok, after.mismatches
    assert after.chain is not None
    assert after.chain.head_hash == before.chain.head_hash  # type: ignore[union-attr]
    across, problems = history.audit_from_archive(tmp_path / "archive")
    assert not problems
    assert across.ok, across.mismatches
    assert across.events_checked == head

    clock.advance(3600)  # everything is due now
    while keeper.run_once():
        pass
    with reading(history.engines.read) as db:
        assert stored_events.bounds(db) == (head, head)


def test_a_sqlite_file_gives_back_the_pages_of_removed_events(
    clock: FakeClock, tmp_path: Path
) -> None:
    url = sqlite_url(tmp_path)
    settings = Settings(database_url=url, scheduler="off", simulator="off", id_seed=3)
    router = bootstrap(settings, clock=clock, ids=RandomIds(3))
    migrate.upgrade(router.engines.write)
    random_history(router, clock, events=4000, seed=7)
    file = Path(url.removeprefix("sqlite:///"))
    router.store.close()  # checkpoint the WAL into the file
    router.engines.dispose()
    full = os.path.getsize(file)

    clock.advance(3600)
    keeper = retention(router, clock, tmp_path / "archive")
    while keeper.run_once():
        pass
    router.engines.dispose()
    assert os.path.getsize(file) < full * 0.8, (os.path.getsize(file), full)


ROWS_BY_STATUS = sql("SELECT status, COUNT(*) FROM tasks GROUP BY status")
KEYS = sql("SELECT COUNT(*) FROM idempotency_keys")
SECONDS = sql("SELECT MIN(second), COUNT(*) FROM stats_throughput")
OLD_KEY = sql(
    "INSERT INTO idempotency_keys (key, fingerprint, status, body, created_at) "
    "VALUES (?, 'f', 200, ?, ?)"
)
OLD_SECOND = sql("INSERT INTO stats_throughput (second, finished) VALUES (?, 1)")


def test_housekeeping_prunes_what_only_grows_with_time_and_changes_no_count(
    history: TaskRouter, clock: FakeClock
) -> None:
    now = clock.now()
    with writing(history.engines.write) as db:
        db.execute(OLD_KEY, ("old", b"{}", (now - timedelta(days=2)).isoformat()))
        db.execute(OLD_KEY, ("new", b"{}", now.isoformat()))
        db.execute(OLD_SECOND, (int(now.timestamp()) - 3 * 86_400,))
    counts = history.read_model.status_counts()
    with reading(history.engines.read) as db:
        rows = dict(db.execute(ROWS_BY_STATUS))
        seconds_before = db.execute(SECONDS).fetchone()[1]
    keeping = Housekeeping(
        history.engines.write, clock, timedelta(days=1), history.time_travel.position_at,
        task_rows_after=timedelta(seconds=1),
    )  # fmt: skip
    clock.advance(3600)  # every task finished more than a second ago
    while keeping.run_once():
        pass
    with reading(history.engines.read) as db:
        left = dict(db.execute(ROWS_BY_STATUS))
        assert db.execute(KEYS).fetchone()[0] == 1, "the expired key goes, the fresh one stays"
        first, kept_seconds = db.execute(SECONDS).fetchone()
    assert kept_seconds == seconds_before - 1
    assert first > int(now.timestamp()) - 2 * 86_400
    assert "completed" not in left
    assert "cancelled" not in left
    assert {k: v for k, v in rows.items() if k not in ("completed", "cancelled")} == left
    assert keeping.pruned["task_rows"] == rows.get("completed", 0) + rows.get("cancelled", 0)
    assert history.read_model.status_counts() == counts, "no count changes"


def test_on_postgresql_the_space_of_removed_events_is_reused(
    history_copies: HistoryCopies, clock: FakeClock, tmp_path: Path
) -> None:
    """PostgreSQL keeps the table's pages after a DELETE and vacuum (autovacuum, in
    service) makes them reusable: cut and refill the log to the same length again and
    again, and the events table stops growing."""
    with history_copies.router("postgresql", 3000, 7, tmp_path, clock) as router:
        reactors = restored_reactors(router, clock)
        sizes = [_vacuumed_size(router)]
        for cycle in range(4):
            head = router.store.head()
            router.archive(tmp_path / "archive", head - 50)
            _vacuumed_size(router)  # as autovacuum does after a large delete
            random_history(router, clock, head + 2000, 8 + cycle, reactors)
            sizes.append(_vacuumed_size(router))
    print("events table at 3,000 events, then after each cut and refill of 2,000:", sizes)
    assert sizes[-1] <= sizes[-2] * 1.05, sizes
    assert sizes[-1] < sizes[0] * 2, "far from the 5x of keeping every event"


def _vacuumed_size(router: TaskRouter) -> int:
    """The events table's size (with indexes) after a VACUUM, as autovacuum leaves it."""
    with router.engines.write.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.exec_driver_sql("VACUUM events")
        size = connection.exec_driver_sql("SELECT pg_total_relation_size('events')").scalar()
    return int(size)
