"""Archived events removed from the hot log, on SQLite and PostgreSQL: the hot log starts
after the cut, everything that lives on is loaded from snapshots as it was, verification
works from the hot log alone (anchored on the stored start) and across both tiers (the
start checked against the fold of the archive), and a run killed at any point either
completes on a re-run or leaves the hot log as it was."""

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from application.aggregates import Aggregates
from application.audit.log_start import LogStart
from application.messages import MessageContext
from application.snapshots import aggregate_of, folded
from domain.values import TaskStatus
from infrastructure.archive import archiver, removal, segments
from infrastructure.archive.archived_log import ArchivedLog
from infrastructure.bootstrap import TaskRouter
from infrastructure.sql import log_start
from infrastructure.sql.db import reading, sql, writing
from infrastructure.sql.queries import SqlReadModel
from infrastructure.sql.replay_inputs import SqlReplayInputs
from infrastructure.sql.time_travel import SqlTimeTravel
from tests.fakes import FakeClock
from tests.histories import Reactors, random_history, restored_reactors
from tests.history_copies import HistoryCopies, quiet_router

ALL_ROWS = sql(f"SELECT {archiver.chain.ROW}, hash FROM events ORDER BY position")
STREAMS = sql("SELECT DISTINCT stream_id FROM events")
STATS = sql("SELECT name, value FROM stats_counters ORDER BY name")
EDIT_START = sql("UPDATE log_start SET state = ?, digest = ?")
TASK_SNAPSHOTS = sql("SELECT stream_id, position FROM snapshots WHERE stream_id LIKE 'task-%'")
CTX = MessageContext("log-start")


@pytest.fixture
def url(
    backend: str, history_copies: HistoryCopies, tmp_path: Path, clock: FakeClock
) -> Iterator[str]:
    """A copy of a random history of 1,500 events; `clock` at its end."""
    with history_copies.copy(backend, 1500, 7, tmp_path, clock) as copied:
        yield copied


@pytest.fixture
def made(url: str, clock: FakeClock) -> Iterator[tuple[TaskRouter, Reactors]]:
    """The history's router, and a scheduler and timekeeper to go on with."""
    router = quiet_router(url, clock, seed=4)
    yield router, restored_reactors(router, clock)
    router.engines.dispose()


@pytest.fixture
def history(made: tuple[TaskRouter, Reactors]) -> TaskRouter:
    return made[0]


def rows(router: TaskRouter) -> list[tuple[object, ...]]:
    with reading(router.engines.read) as db:
        return [tuple(row) for row in db.execute(ALL_ROWS)]


def archived(directory: Path) -> list[tuple[object, ...]]:
    return [
        tuple(row)
        for manifest in segments.manifests(directory)
        for row in segments.read(directory, manifest)
    ]


def start_of(router: TaskRouter) -> LogStart:
    with reading(router.engines.read) as db:
        return log_start.load(db)


def living_states(router: TaskRouter) -> dict[str, tuple[int, object]]:
    """Each stream an aggregate may still be loaded from (pools, the configuration, tasks
    not completed or cancelled): its version and state, folded from the whole stream."""
    with reading(router.engines.read) as db:
        streams = sorted(str(stream) for (stream,) in db.execute(STREAMS))
    found = {}
    for stream in streams:
        if aggregate_of(stream) is None:
            continue
        events = router.store.read_stream(stream)
        state = folded(stream, None, [recorded.event for recorded in events])
        status = getattr(state, "status", None)
        if status not in (TaskStatus.COMPLETED, TaskStatus.CANCELLED):
            found[stream] = (len(events), state)
    return found


def test_the_hot_log_starts_after_the_cut_and_verifies_alone_and_across_tiers(
    history: TaskRouter, tmp_path: Path
) -> None:
    before = rows(history)
    whole = history.audit()
    assert whole.ok
    run, removed = history.archive(tmp_path / "archive", 900, segment_events=400, step_events=60)
    assert removed is not None
    start = removed.start
    assert run.up_to == 900
    assert 850 <= start <= 900, "the cut moves back only to keep a scheduler run whole"
    assert removed.events == start
    assert rows(history) == before[start:], "exactly the events after the cut stay"
    assert archived(tmp_path / "archive") == before[:900]
    assert history.store.head() == len(before)
    assert start_of(history).hash == before[start - 1][-1]

    with reading(history.engines.read) as db:
        snapshotted = [(str(s), int(p)) for s, p in db.execute(TASK_SNAPSHOTS)]
    open_tasks = start_of(history).statuses
    assert all(s in open_tasks or p > start for s, p in snapshotted), "closed tasks' go"

    alone = history.audit()
    assert alone.ok, (alone.mismatches, alone.violations, alone.chain)
    assert alone.events_checked == len(before) - start
    assert alone.decisions_checked > 0
    assert alone.chain is not None
    assert alone.chain.checked == len(before)
    assert alone.chain.head_hash == whole.chain.head_hash  # type: ignore[union-attr]

    across, problems = history.audit_from_archive(tmp_path / "archive")
    assert not problems
    assert across.ok, across.mismatches
    assert across.events_checked == len(before)
    assert across.decisions_checked == whole.decisions_checked
    assert across.snapshots_checked > whole.snapshots_checked, "the start is checked too"


def test_what_lives_on_loads_from_snapshots_as_it_was_and_commands_go_on(
    made: tuple[TaskRouter, Reactors], tmp_path: Path, clock: FakeClock
) -> None:
    history, reactors = made
    living = living_states(history)
    counts = history.read_model.status_counts()
    with reading(history.engines.read) as db:
        stats = list(db.execute(STATS))
    history.archive(tmp_path / "archive", 1000)
    assert history.read_model.status_counts() == counts, "archiving changes no count"
    with reading(history.engines.read) as db:
        assert list(db.execute(STATS)) == stats

    aggregates = Aggregates(history.store, snapshots=history.store)  # as a restarted service
    for stream, (version, state) in living.items():
        loaded = aggregates.load(stream, aggregate_of(stream).start)  # type: ignore[union-attr]
        assert (loaded.version, loaded.state) == (version, state), stream

    head = history.store.head()
    random_history(history, clock, head + 600, 8, reactors)  # every kind of command, after it
    after = history.audit()
    assert after.ok, (after.mismatches, after.violations, after.chain)
    across, problems = history.audit_from_archive(tmp_path / "archive")
    assert not problems
    assert across.ok, (across.mismatches, across.violations)


def test_a_node_whose_cached_states_were_archived_meanwhile_loads_what_the_log_holds(
    made: tuple[TaskRouter, Reactors], tmp_path: Path, clock: FakeClock
) -> None:
    """Another node caches the states it loaded; this node goes on writing, then archives
    past everything it wrote. The other node's cached versions are now archived, and no
    hot event follows them: it must load each stream as the log holds it (from its
    snapshot), not trust the cache, which would judge commands on a task as it was."""
    history, reactors = made
    other = Aggregates(history.store, snapshots=history.store)  # another node's cache
    with reading(history.engines.read) as db:
        streams = sorted(str(stream) for (stream,) in db.execute(STREAMS))
    starts = {stream: aggregate_of(stream) for stream in streams}
    for stream, kind in starts.items():
        if kind is not None:
            other.load(stream, kind.start)
    head = history.store.head()
    random_history(history, clock, head + 400, 10, reactors)  # written by this node
    history.archive(tmp_path / "archive", history.store.head())

    fresh = Aggregates(history.store, snapshots=history.store)  # as a restarted node
    stale = []
    for stream, kind in starts.items():
        if kind is None:
            continue
        now = fresh.load(stream, kind.start)
        cached = other.load(stream, kind.start)
        if (cached.version, cached.state) != (now.version, now.state):
            stale.append(stream)
    assert not stale, f"{len(stale)} streams loaded from a stale cache, e.g. {stale[:3]}"


def test_a_log_archived_to_its_head_goes_on_from_the_archived_hash(
    made: tuple[TaskRouter, Reactors], tmp_path: Path, clock: FakeClock
) -> None:
    history, reactors = made
    head = history.store.head()
    _, removed = history.archive(tmp_path / "archive", head)
    assert removed is not None
    assert removed.start == head
    assert rows(history) == []
    assert history.store.head() == head
    random_history(history, clock, head + 200, 9, reactors)
    assert rows(history)[0][0] == head + 1
    report = history.audit()
    assert report.ok, [f.detail for f in report.mismatches[:2]]
    across, problems = history.audit_from_archive(tmp_path / "archive")
    assert across.ok
    assert not problems


def test_only_what_the_archive_holds_is_removed(history: TaskRouter, tmp_path: Path) -> None:
    directory = tmp_path / "archive"
    history.archive(directory, 500, keep_hot=True)
    assert rows(history)[0][0] == 1
    moved = removal.remove(history.engines.write, segments.manifests(directory), 900, "now")
    assert moved.start <= 500
    assert rows(history)[0][0] == moved.start + 1


def test_a_segment_that_is_not_this_log_stops_the_removal(
    history: TaskRouter, tmp_path: Path
) -> None:
    directory = tmp_path / "archive"
    history.archive(directory, 400, keep_hot=True)
    manifests = segments.manifests(directory)
    forged = [manifests[0].__class__(**{**manifests[0].__dict__, "hash_after": "0" * 64})]
    before = rows(history)
    with pytest.raises(removal.ArchiveMismatch, match="ends with chain hash"):
        removal.remove(history.engines.write, forged, 400, "now")
    assert rows(history) == before


def test_an_altered_start_is_reported(history: TaskRouter, tmp_path: Path) -> None:
    history.archive(tmp_path / "archive", 900)
    start = start_of(history)
    stream = next(iter(start.pools))
    pools = {**start.pools, stream: {**start.pools[stream], "capacity": 999}}
    text = log_start.encoded(LogStart(start.position, start.hash, pools, start.algorithm,
                                      start.statuses))  # fmt: skip
    with writing(history.engines.write) as db:
        db.execute(EDIT_START, (text, log_start.digest(text)))
    across, _ = history.audit_from_archive(tmp_path / "archive")
    assert not across.ok
    assert [(f.position, f.stream_id) for f in across.mismatches] == [(start.position, "log_start")]
    assert f"pool {stream} is capacity=" in across.mismatches[0].detail

    with writing(history.engines.write) as db:
        db.execute(EDIT_START, (text, "0" * 64))
    alone = history.audit()
    assert not alone.ok
    assert alone.mismatches[0].detail == (
        f"the log start at {start.position} does not match its digest"
    )


CHILD = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from infrastructure.bootstrap import bootstrap
    from infrastructure.settings import Settings

    url, directory, up_to, point, nth = sys.argv[1:]
    router = bootstrap(Settings(database_url=url, scheduler="off", simulator="off"))
    seen = []

    def hook(at, position):
        seen.append(at)
        if at == point and seen.count(at) == int(nth):
            os._exit(9)

    def progress(phase, done):
        hook(phase, done)

    router.archive(Path(directory), int(up_to), 300, progress, hook=hook, step_events=250)
    """
)


@pytest.mark.parametrize(
    ("point", "nth"),
    [("archiving", 2), ("removing", 3), ("removed", 1)],
)
def test_a_run_killed_at_any_point_completes_on_a_rerun_losing_and_duplicating_nothing(
    history: TaskRouter, url: str, tmp_path: Path, point: str, nth: int
) -> None:
    before = rows(history)
    directory = tmp_path / "archive"
    killed = subprocess.run(
        [sys.executable, "-c", CHILD, url, str(directory), "1200", point, str(nth)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": "."},
    )  # fmt: skip
    assert killed.returncode == 9, killed.stderr[-2000:]
    hot = rows(history)
    assert hot == before[len(before) - len(hot) :], "the hot log is a whole suffix of the log"
    assert start_of(history).position == len(before) - len(hot)

    _, removed = history.archive(directory, 1200, segment_events=300)
    assert removed is not None
    assert 1150 <= removed.start <= 1200
    assert archived(directory) == before[:1200]
    assert rows(history) == before[removed.start :]
    across, problems = history.audit_from_archive(directory)
    assert not problems
    assert across.ok, across.mismatches
    assert across.events_checked == len(before)


DECISIONS_BEFORE = sql(
    "SELECT position, payload FROM events WHERE type = 'WorkerAssigned' AND position <= ? "
    "ORDER BY position"
)


def test_with_the_archive_history_before_the_start_answers_as_it_did_before(
    history: TaskRouter, tmp_path: Path
) -> None:
    """Time travel, what-if inputs and decision boards at positions before the start read
    the segments and answer exactly what the whole log answered."""
    at = 600
    travel = history.time_travel
    with reading(history.engines.read) as db:
        decisions = [(int(p), orjson.loads(d)["decision"]) for p, d in
                     db.execute(DECISIONS_BEFORE, (at,))]  # fmt: skip
    compact = [(p, d) for p, d in decisions if "seen" in d][-5:]
    moment = datetime.fromisoformat(rows(history)[at - 1][10])  # type: ignore[arg-type]
    expected = (
        travel.stats(at), travel.pools(at), travel.position_at(moment),
        history.replays.up_to(at),
        [history.read_model.decision_inputs(d["seen"], p, d["run"]) for p, d in compact],
    )  # fmt: skip
    history.archive(tmp_path / "archive", 1000)

    archive = ArchivedLog(tmp_path / "archive")
    travel = SqlTimeTravel(history.engines.read, archive)
    reads = SqlReadModel(history.engines.read, archive)
    answered = (
        travel.stats(at), travel.pools(at), travel.position_at(moment),
        SqlReplayInputs(history.engines.read, archive).up_to(at),
        [reads.decision_inputs(d["seen"], p, d["run"]) for p, d in compact],
    )  # fmt: skip
    assert compact, "the history has compact decisions before the cut"
    for name, was, now in zip(("stats", "pools", "position", "what-if", "boards"), expected,
                              answered, strict=True):  # fmt: skip
        assert now == was, name
