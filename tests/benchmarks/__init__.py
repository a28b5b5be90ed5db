"""The benchmark suite: `python -m tests.benchmarks` (see docs/performance.md)."""
