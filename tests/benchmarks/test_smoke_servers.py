"""The quick run of the benchmarks that drive a real server (see smoke.py)."""

from pathlib import Path

from tests.benchmarks.__main__ import SUITES
from tests.benchmarks.smoke import GROUPS, benchmarks, quick_run


def test_the_groups_hold_every_suite_once() -> None:
    grouped = [name for names in GROUPS.values() for name in names]
    assert sorted(grouped) == sorted(SUITES)


def test_the_server_benchmarks_run_and_report_sane_figures(tmp_path: Path) -> None:
    rows, by_case, _ = quick_run("servers", tmp_path)
    assert benchmarks(rows) == {"retention", "http", "end to end", "store"}
    assert by_case[("http", "8 connections", "POST /tasks errors")]["value"] == 0
    drained = by_case[("end to end", "64 connections, 0 s workers", "queue length at the end")]
    assert drained["value"] == 0
