"""The quick run of the peer benchmark: Dramatiq on a Redis server of its own, beside this
server, in the same run (see peer.py and smoke.py); and of the nodes benchmark, SQLite
against PostgreSQL, one node and two."""

import os
from pathlib import Path

from tests.benchmarks.smoke import benchmarks, quick_run
from tests.postgres_support import VARIABLE


def test_the_peer_benchmark_runs_both_systems_and_reports_them_side_by_side(
    tmp_path: Path,
) -> None:
    rows, by_case, report = quick_run("peer", tmp_path)
    with_postgres = bool(os.environ.get(VARIABLE))
    assert benchmarks(rows) == ({"peer", "nodes"} if with_postgres else {"peer"})
    if with_postgres:
        case = "64 connections in all"
        for metric in ("SQLite, one node", "PostgreSQL, one node", "PostgreSQL, two nodes"):
            assert by_case[("nodes", case, metric)]["value"] > 0
            assert (
                by_case[("nodes", case, f"write lock held per transaction, {metric}")]["value"] > 0
            )
    else:
        assert "nodes: skipped" in report
    case = "64 connections / 64 producer threads"
    for metric in ("submissions/s", "end to end tasks/s"):
        row = by_case[("peer", case, metric)]
        assert row["value"] > 0, row
        assert row["baseline_value"] > 0, "the peer ran and did work"
