"""The benchmark suite at reduced size: it runs end to end and its figures are sane.
No wall-clock time is asserted."""

import json
import math
import subprocess
import sys
from pathlib import Path

EXPECTED = {
    "http",
    "end to end",
    "store",
    "replay",
    "decision",
    "query",
    "sql",
    "storage",
    "streams",
    "dashboard",
    "verify",
    "explain",
    "records",
    "lifecycle",
    "retention",
}


def test_the_quick_suite_runs_and_reports_sane_figures(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks", "--quick", "--json", str(output)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = json.loads(output.read_text())
    rows = results["rows"]
    assert {row["benchmark"] for row in rows} == EXPECTED
    for row in rows:
        assert math.isfinite(row["value"]), row
        if not row["metric"].startswith("growth"):  # a size may shrink: growth is signed
            assert row["value"] >= 0, row
        if row["unit"] in ("events/s", "req/s", "tasks/s"):
            assert row["value"] > 0, row
        if row["baseline"] is not None:
            assert row["baseline_value"] is not None, row
            assert row["baseline_value"] >= 0, row
    by_case = {(r["benchmark"], r["case"], r["metric"]): r for r in rows}
    assert by_case[("http", "8 connections", "POST /tasks errors")]["value"] == 0
    assert (
        by_case[("end to end", "64 connections, 0 s workers", "queue length at the end")]["value"]
        == 0
    )
    replayed = next(r for r in rows if r["benchmark"] == "replay" and r["unit"] == "events/s")
    assert replayed["ratio"] is not None
    assert "TaskRouterX benchmarks" in completed.stderr
