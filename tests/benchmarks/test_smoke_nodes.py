"""The quick run of the nodes benchmark: SQLite against PostgreSQL, one node and two, in
the same run (see nodes.py and smoke.py). Without a PostgreSQL server it must say it
skipped."""

import os
from pathlib import Path

from tests.benchmarks.smoke import benchmarks, quick_run
from tests.postgres_support import VARIABLE


def test_the_nodes_benchmark_measures_each_set_up_or_says_it_skipped(tmp_path: Path) -> None:
    rows, by_case, report = quick_run("nodes", tmp_path)
    if not os.environ.get(VARIABLE):
        assert rows == []
        assert "nodes: skipped" in report
        return
    assert benchmarks(rows) == {"nodes"}
    for metric in ("SQLite, one node", "PostgreSQL, one node", "PostgreSQL, two nodes"):
        assert by_case[("nodes", "64 connections in all", metric)]["value"] > 0
        held = by_case[
            ("nodes", "64 connections in all", f"write lock held per transaction, {metric}")
        ]
        assert held["value"] > 0
        assert by_case[("nodes", "end to end, 0 s workers", metric)]["value"] > 0
