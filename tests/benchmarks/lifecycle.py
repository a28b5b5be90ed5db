"""Benchmark: the log's lifecycle.

- Archiving a synthetic log into segments (`taskrouterx archive --keep-hot`): events/s,
  bytes per event and per completed task (five events each), against exporting the same
  log as uncompressed CloudEvents JSON Lines (`taskrouterx events export`) in the same run.
- Loading a long-lived pool cold (the first command after a restart): from its snapshot
  and the events after it, against folding its whole stream, on the same database.
- Moving the log out (`taskrouterx archive`: segments written, then the events removed
  from the database in steps), events/s, against writing the segments alone.
- Starting a server on the log once all but its last 1,000 events are behind the cut
  (start, then every pool and the scheduler's configuration loaded, as the first commands
  load them): against starting on the whole log and folding those streams whole.
- Verifying from the archive (`audit verify --from-archive`): events/s, against verifying
  the same log in the database in one pass before it was moved.

Each figure is a median of the runs, measured in this process on fresh SQLite files."""

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from application.aggregates import Aggregates
from domain.worker_pool import WorkerPool, pool_stream
from tests.benchmarks.harness import Report, Row, Scale
from tests.benchmarks.synthetic import demo_pools, migrated_log

EVENTS_PER_TASK = 5


def run(scale: Scale, report: Report) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = migrated_log(
            Path(directory) / "lifecycle.db", scale.lifecycle_events, report.console
        )
        archived(Path(directory), path, scale, report)
        loaded(path, scale, report)
        moved(Path(directory), path, scale, report)


def archived(directory: Path, path: Path, scale: Scale, report: Report) -> None:
    from infrastructure.archive import archiver
    from infrastructure.sql import transfer
    from infrastructure.sql.db import reading
    from infrastructure.sql.engine import create_engines

    engines = create_engines(f"sqlite:///{path}")
    rates, exports, sizes, exported = [], [], [], []
    for attempt in range(scale.runs):
        target = directory / f"archive-{attempt}"
        started = time.perf_counter()
        result = archiver.archive(engines.read, target, scale.lifecycle_events)
        rates.append(result.events / (time.perf_counter() - started))
        sizes.append(result.bytes / result.events)
        export = directory / f"export-{attempt}.jsonl"
        started = time.perf_counter()
        with reading(engines.read, transaction=True) as db, export.open("wb") as out:
            for line in transfer.export_lines(db):
                out.write(line)
        exports.append(result.events / (time.perf_counter() - started))
        exported.append(export.stat().st_size / result.events)
    engines.dispose()
    case = f"{scale.lifecycle_events:,} events, 8 pools"
    baseline = "events export (JSON Lines, uncompressed)"
    for metric, value, base, unit, target in (
        ("archive", statistics.median(rates), statistics.median(exports), "events/s",
         ">= 200,000/s"),
        ("archive bytes per event", statistics.median(sizes), statistics.median(exported), "B",
         None),
        ("archive bytes per completed task", statistics.median(sizes) * EVENTS_PER_TASK,
         statistics.median(exported) * EVENTS_PER_TASK, "B", "<= 300 B"),
    ):  # fmt: skip
        report.add(Row("lifecycle", case, metric, value, unit, baseline, base, target))


def loaded(path: Path, scale: Scale, report: Report) -> None:
    """The first pool's stream, loaded cold with and without its snapshot."""
    from infrastructure.bootstrap import bootstrap
    from infrastructure.settings import Settings

    settings = Settings(
        database_url=f"sqlite:///{path}", scheduler="off", simulator="off",
        verify_continuously=False,
    )  # fmt: skip
    router = bootstrap(settings)
    router.runner.rebuild_at_once(["snapshots"])
    stream = pool_stream(demo_pools()[0].pool_id)
    events = router.store.read_stream(stream)
    with_snapshot, whole = [], []
    for _ in range(scale.runs):
        for snapshots, samples in ((router.store, with_snapshot), (None, whole)):
            aggregates = Aggregates(router.store, snapshots=snapshots)
            started = time.perf_counter()
            loaded = aggregates.load(stream, WorkerPool.start)
            samples.append((time.perf_counter() - started) * 1000)
            assert loaded.version == len(events)
    router.engines.dispose()
    report.add(
        Row("lifecycle", f"a pool with {len(events):,} events", "cold load, from its snapshot",
            statistics.median(with_snapshot), "ms", "its whole stream folded",
            statistics.median(whole))
    )  # fmt: skip


def moved(directory: Path, path: Path, scale: Scale, report: Report) -> None:
    from application.audit.verify import verify_log
    from infrastructure.bootstrap import bootstrap
    from infrastructure.settings import Settings
    from infrastructure.sql.verify_in_parts import LogReader

    settings = Settings(database_url=f"sqlite:///{path}", simulator="off", demo_pools=False)
    router = bootstrap(settings)
    router.runner.rebuild_at_once(router.runner.names)  # the read models a server keeps
    head = router.store.head()
    router.engines.dispose()

    whole_start = _started(settings, snapshots=False)
    started = time.perf_counter()
    hot = verify_log(LogReader(router.engines.read))
    hot_rate = hot.events_checked / (time.perf_counter() - started)
    assert hot.ok, hot.mismatches[:3]

    cut = head - 1000
    started = time.perf_counter()
    copied, _ = router.archive(directory / "copied", cut, keep_hot=True)
    copy_rate = copied.events / (time.perf_counter() - started)
    started = time.perf_counter()
    _, removed = router.archive(directory / "moved", cut)
    move_rate = cut / (time.perf_counter() - started)
    assert removed is not None
    assert removed.start > cut - 1000
    router.engines.dispose()

    cut_start = _started(settings, snapshots=True)
    router = bootstrap(settings)
    started = time.perf_counter()
    across, problems = router.audit_from_archive(directory / "moved")
    across_rate = across.events_checked / (time.perf_counter() - started)
    assert not problems, problems
    assert across.ok, across.mismatches[:3]
    router.engines.dispose()

    case = f"{head:,} events, 8 pools"
    report.add(
        Row(
            "lifecycle",
            case,
            "archive and remove (move the log out)",
            move_rate,
            "events/s",
            "segments written alone (--keep-hot)",
            copy_rate,
        )
    )
    report.add(
        Row(
            "lifecycle",
            f"{removed.start:,} events behind the cut",
            "server start, pools and configuration loaded",
            cut_start,
            "s",
            "the whole log, streams folded whole",
            whole_start,
            "< 2 s",
        )
    )
    report.add(Row("lifecycle", case, "verify --from-archive", across_rate, "events/s",
                   "verify in the database, one pass", hot_rate))  # fmt: skip


def _started(settings: Any, snapshots: bool) -> float:
    """Seconds from making a server to having it started and every pool's and the
    scheduler's aggregate loaded (from snapshots, or their streams folded whole)."""
    from application.snapshots import aggregate_of
    from domain.scheduler_config import SCHEDULER_STREAM
    from infrastructure.bootstrap import bootstrap

    started = time.perf_counter()
    router = bootstrap(settings)
    router.start()
    aggregates = Aggregates(router.store, snapshots=router.store if snapshots else None)
    for stream in [pool_stream(pool.pool_id) for pool in demo_pools()] + [SCHEDULER_STREAM]:
        aggregate = aggregate_of(stream)
        assert aggregate is not None
        aggregates.load(stream, aggregate.start)
    seconds = time.perf_counter() - started
    router.stop()
    return seconds
