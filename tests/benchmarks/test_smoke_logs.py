"""The quick run of the benchmarks on the log itself: streams, audit, storage, replay,
SQL and queries (see smoke.py)."""

from pathlib import Path

from tests.benchmarks.smoke import benchmarks, quick_run


def test_the_log_benchmarks_run_and_report_sane_figures(tmp_path: Path) -> None:
    rows, _, _ = quick_run("logs", tmp_path)
    assert benchmarks(rows) == {
        "streams", "explain", "storage", "verify", "replay", "sql", "lifecycle", "query"
    }  # fmt: skip
    replayed = next(r for r in rows if r["benchmark"] == "replay" and r["unit"] == "events/s")
    assert replayed["ratio"] is not None
