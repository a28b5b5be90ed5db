"""Benchmark: a full verification of a synthetic log (every hash, every decision
recomputed, every invariant), the shipped way (compact records; two processes from
100,000 events) and in one pass, against the same-size log whose decisions are whole (every
pool as seen, the form before compact records) verified in one pass, in the same run.

Each verification is a fresh process reading a fresh SQLite file of the demo pools' tasks
living their whole life (five events a task)."""

import json
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.harness import Report, Row, Scale, child_json, progress
from tests.benchmarks.synthetic import migrated_log

TARGET = ">= 100,000/s"


def prepare(directory: Path, events: int, whole: bool, report: Report) -> Path:
    name = "whole.db" if whole else "compact.db"
    return migrated_log(directory / name, events, report.console, whole_decisions=whole)


def child(path: Path, in_parts: bool) -> dict[str, float]:
    from infrastructure.sql import verify_in_parts
    from infrastructure.sql.engine import create_engines

    url = f"sqlite:///{path}"
    engines = create_engines(url)
    started = time.perf_counter()
    report = verify_in_parts.verify(url, engines.read, in_parts_from=0 if in_parts else 2**62)
    seconds = time.perf_counter() - started
    engines.dispose()
    if not report.ok or report.events_checked != report.head:
        raise SystemExit(f"the synthetic log did not verify clean: {report}")
    return {"events": report.events_checked, "seconds": seconds}


def _measure(path: Path, in_parts: bool) -> float:
    result = child_json("tests.benchmarks.verify", str(path), str(in_parts))
    return float(result["events"] / result["seconds"])


def run(scale: Scale, report: Report) -> None:
    with tempfile.TemporaryDirectory() as directory:
        compact = prepare(Path(directory), scale.verify_events, False, report)
        whole = prepare(Path(directory), scale.verify_events, True, report)
        rates: dict[str, list[float]] = {"parts": [], "one": [], "whole": []}
        with progress(report.console) as bar:
            task = bar.add_task("verifying, three ways", total=3 * scale.runs)
            for _ in range(scale.runs):  # alternating, so drift touches all three alike
                rates["parts"].append(_measure(compact, in_parts=True))
                rates["one"].append(_measure(compact, in_parts=False))
                rates["whole"].append(_measure(whole, in_parts=False))
                bar.advance(task, 3)
    median = {name: sorted(values)[len(values) // 2] for name, values in rates.items()}
    case = f"{scale.verify_events:,} events"
    for metric, name in (
        ("full verification, two processes", "parts"),
        ("full verification, one pass", "one"),
    ):
        report.add(
            Row(
                "verify",
                case,
                metric,
                median[name],
                "events/s",
                "whole decisions, one pass",
                median["whole"],
                TARGET if name == "parts" else None,
            )
        )


if __name__ == "__main__":
    print(json.dumps(child(Path(sys.argv[1]), sys.argv[2] == "True")))
