"""The quick run of the peer benchmark: Dramatiq on a Redis server of its own, beside this
server, in the same run (see peer.py and smoke.py)."""

from pathlib import Path

from tests.benchmarks.smoke import benchmarks, quick_run


def test_the_peer_benchmark_runs_both_systems_and_reports_them_side_by_side(
    tmp_path: Path,
) -> None:
    rows, by_case, _ = quick_run("peer", tmp_path)
    assert benchmarks(rows) == {"peer"}
    case = "64 connections / 64 producer threads"
    for metric in ("submissions/s", "end to end tasks/s"):
        row = by_case[("peer", case, metric)]
        assert row["value"] > 0, row
        assert row["baseline_value"] > 0, "the peer ran and did work"
