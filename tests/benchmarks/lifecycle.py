"""Benchmark: the log's lifecycle (issue 19, in progress).

- Archiving a synthetic log into segments (`taskrouterx archive`): events/s, bytes per
  event and per completed task (five events each), against exporting the same log as
  uncompressed CloudEvents JSON Lines (`taskrouterx events export`) in the same run.
- Loading a long-lived pool cold (the first command after a restart): from its snapshot
  and the events after it, against folding its whole stream, on the same database.

Each figure is a median of the runs, measured in this process on fresh SQLite files."""

import statistics
import tempfile
import time
from pathlib import Path

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
