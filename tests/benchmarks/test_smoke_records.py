"""The quick run of the decision-record and dashboard benchmarks (see smoke.py)."""

from pathlib import Path

from tests.benchmarks.smoke import benchmarks, quick_run


def test_the_record_and_dashboard_benchmarks_run_and_report_sane_figures(
    tmp_path: Path,
) -> None:
    rows, _, _ = quick_run("records", tmp_path)
    assert benchmarks(rows) == {"records", "dashboard", "decision"}
