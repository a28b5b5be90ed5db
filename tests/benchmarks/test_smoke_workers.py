"""The quick run of the benchmarks of the Python workers and of tracing: Python-function
workers and the command-per-task worker on the same tasks, and servers with tracing off and
on, in the same run (see workers.py, tracing.py and smoke.py)."""

from pathlib import Path

from tests.benchmarks.smoke import benchmarks, quick_run


def test_the_workers_benchmark_runs_each_worker_and_reports_them_side_by_side(
    tmp_path: Path,
) -> None:
    rows, by_case, _ = quick_run("python", tmp_path)
    assert benchmarks(rows) == {"workers", "tracing"}
    for kind in ("python async", "python sync"):
        row = by_case[("workers", "100 no-op tasks, 16 at once", f"{kind}: completed tasks/s")]
        assert row["value"] > 0, row
        assert row["baseline_value"] > 0, "the command worker ran them too"
    traced = by_case[
        ("tracing", "64 connections, POST /api/v1/tasks", "submissions/s, tracing off")
    ]
    assert traced["value"] > 0, traced
    assert traced["baseline_value"] > 0, "the server with tracing on took submissions too"
