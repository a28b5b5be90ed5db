"""Run the benchmark suite: `python -m tests.benchmarks [--quick] [--only NAME ...]`."""

import argparse
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from tests.benchmarks import (
    dashboard_load,
    decisions,
    end_to_end,
    explain,
    fairness,
    http_load,
    lifecycle,
    nodes,
    peer,
    queries,
    records,
    replay,
    retention,
    sql_styles,
    storage,
    store,
    streams,
    tracing,
    verify,
    workers,
)
from tests.benchmarks.harness import Report, Scale

SUITES = {
    "http": http_load.run,
    "end_to_end": end_to_end.run,
    "store": store.run,
    "replay": replay.run,
    "decisions": decisions.run,
    "fairness": fairness.run,
    "queries": queries.run,
    "sql": sql_styles.run,
    "storage": storage.run,
    "streams": streams.run,
    "dashboard": dashboard_load.run,
    "verify": verify.run,
    "explain": explain.run,
    "records": records.run,
    "lifecycle": lifecycle.run,
    "retention": retention.run,
    "peer": peer.run,
    "nodes": nodes.run,
    "workers": workers.run,
    "tracing": tracing.run,
}
PARTS = {"retention-p99": retention.latency_only}
"""Parts of a suite that run only when named (`--only`)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced sizes (the smoke run)")
    parser.add_argument("--only", nargs="*", choices=sorted(SUITES | PARTS), help="run only these")
    parser.add_argument("--json", type=Path, default=Path("benchmark-results.json"))
    args = parser.parse_args(argv)
    scale = Scale.quick() if args.quick else Scale()
    console = Console(stderr=True, width=max(Console(stderr=True).width, 150))
    report = Report(console)
    started = time.perf_counter()
    for name in args.only or list(SUITES):
        console.print(f"[bold]{name}[/bold] ...")
        (SUITES | PARTS)[name](scale, report)
    console.print(report.table())
    meta = {
        "when": datetime.now(UTC).isoformat(),
        "quick": args.quick,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    report.write_json(args.json, meta)
    console.print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
