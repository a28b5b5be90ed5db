"""The quick run of the decision-record and dashboard benchmarks (see smoke.py)."""

from pathlib import Path

from tests.benchmarks.smoke import benchmarks, quick_run


def test_the_record_and_dashboard_benchmarks_run_and_report_sane_figures(
    tmp_path: Path,
) -> None:
    rows, _, _ = quick_run("records", tmp_path)
    assert benchmarks(rows) == {"records", "dashboard", "decision", "fairness"}
    # fair share runs on virtual time: its figures are the scheduler's choices, not timings
    for row in rows:
        if row["benchmark"] == "fairness" and row["metric"].startswith("share of tenant"):
            due = float(row["metric"].split("due ")[1].split("%")[0])
            assert abs(row["value"] - due) <= 5, row
    slots = [r for r in rows if r["metric"].startswith("completions before its first slot")]
    assert sorted((r["value"], r["baseline_value"] > 1) for r in slots) == [(0, True), (1, True)]
