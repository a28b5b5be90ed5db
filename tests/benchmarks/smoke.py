"""The benchmark suite at reduced size, in groups of about 30 s or less so the test
workers share it: each group runs end to end in its own process and its figures are sane.
No wall-clock time is asserted."""

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

GROUPS = {
    "servers": ["retention", "http", "end_to_end", "store"],
    "records": ["records", "dashboard", "decisions", "fairness"],
    "logs": ["streams", "explain", "storage", "verify", "replay", "sql", "lifecycle", "queries"],
    "peer": ["peer"],
    "nodes": ["nodes"],
    "python": ["workers", "tracing"],
}
"""Every suite of `python -m tests.benchmarks`, each in one group (a test checks this)."""

Rows = dict[tuple[str, str, str], dict[str, Any]]


def quick_run(group: str, tmp_path: Path) -> tuple[list[dict[str, Any]], Rows, str]:
    """Run the group's suites at quick size: their rows, the rows by (benchmark, case,
    metric), and the report printed on stderr. Every row's figures are checked sane."""
    output = tmp_path / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks", "--quick", "--only", *GROUPS[group],
         "--json", str(output)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    rows = json.loads(output.read_text())["rows"]
    for row in rows:
        assert math.isfinite(row["value"]), row
        if not row["metric"].startswith("growth"):  # a size may shrink: growth is signed
            assert row["value"] >= 0, row
        if row["unit"] in ("events/s", "req/s", "tasks/s"):
            assert row["value"] > 0, row
        if row["baseline"] is not None:
            assert row["baseline_value"] is not None, row
            assert row["baseline_value"] >= 0, row
    assert "TaskRouterX benchmarks" in completed.stderr
    by_case = {(r["benchmark"], r["case"], r["metric"]): r for r in rows}
    return rows, by_case, completed.stderr


def benchmarks(rows: list[dict[str, Any]]) -> set[str]:
    return {row["benchmark"] for row in rows}
