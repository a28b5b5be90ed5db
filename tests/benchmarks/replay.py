"""Benchmark 4: rebuild every projection from a large log (events/s, peak RSS), against
the eventsourcing library reading and decoding a notification log of the same size.
Each side runs in a child process, so peak RSS is that of the work alone."""

import json
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.harness import Report, Row, Scale, child_json, peak_rss_mb, progress
from tests.benchmarks.synthetic import migrated_log


def prepare_ours(directory: Path, events: int, report: Report) -> Path:
    return migrated_log(directory / "replay.db", events, report.console)


def prepare_eventsourcing(directory: Path, events: int, report: Report) -> Path:
    path = directory / "es.db"
    from tests.benchmarks.es_model import Job, application

    app = application(path)
    with progress(report.console) as bar:
        task = bar.add_task("writing the eventsourcing log", total=events)
        for start in range(0, events, 1000):
            app.save(
                *[Job("eu-west", 5, {"customer": "acme"}) for _ in range(min(1000, events - start))]
            )
            bar.advance(task, min(1000, events - start))
    app.close()
    return path


def child(kind: str, path: Path) -> dict[str, float]:
    started = time.perf_counter()
    if kind == "ours":
        from infrastructure.bootstrap import bootstrap
        from infrastructure.settings import Settings

        router = bootstrap(
            Settings(database_url=f"sqlite:///{path}", scheduler="off", simulator="off")
        )
        router.runner.rebuild_at_once(router.runner.names)
        events = router.store.head()
        router.engines.dispose()
    else:
        from tests.benchmarks.es_model import application

        app = application(path)
        events, position = 0, 1
        while notifications := app.recorder.select_notifications(start=position, limit=1000):
            for notification in notifications:
                app.mapper.to_domain_event(notification)
            events += len(notifications)
            position = notifications[-1].id + 1
        app.close()
    return {"events": events, "seconds": time.perf_counter() - started, "rss_mb": peak_rss_mb()}


def _measure(kind: str, path: Path) -> dict[str, float]:
    return child_json("tests.benchmarks.replay", kind, str(path))  # type: ignore[no-any-return]


def run(scale: Scale, report: Report) -> None:
    with tempfile.TemporaryDirectory() as directory:
        ours_path = prepare_ours(Path(directory), scale.replay_events, report)
        es_path = prepare_eventsourcing(Path(directory), scale.replay_events, report)
        ours = [_measure("ours", ours_path) for _ in range(scale.runs)]
        theirs = [_measure("eventsourcing", es_path) for _ in range(scale.runs)]
    rate = sorted(r["events"] / r["seconds"] for r in ours)[len(ours) // 2]
    baseline = sorted(r["events"] / r["seconds"] for r in theirs)[len(theirs) // 2]
    rss = sorted(r["rss_mb"] for r in ours)[len(ours) // 2]
    events = int(ours[0]["events"])
    report.add(
        Row(
            "replay",
            f"{events:,} events",
            "rebuild all projections",
            rate,
            "events/s",
            "eventsourcing read+decode",
            baseline,
            ">= 200,000/s and >= 1.2x",
        )
    )
    report.add(
        Row(
            "replay",
            f"{events:,} events",
            "peak RSS",
            rss,
            "MB",
            "eventsourcing",
            sorted(r["rss_mb"] for r in theirs)[len(theirs) // 2],
            "< 300 MB",
        )
    )


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], Path(sys.argv[2]))))
