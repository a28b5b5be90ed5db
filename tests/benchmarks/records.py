"""Benchmark: what compact decision records buy, against recording every decision whole
(every pool as seen, the form before compact records), in the same run, with the 8 demo
pools and with 1,000 pools (40 in the quick run):

- submissions/s at 64 connections and completed tasks/s end to end: a real server (wrk
  submitting for a fixed time, zero-latency simulated workers, capacity for every task),
  the baseline a server whose scheduler records whole decisions;
- rebuilding every projection (events/s) from a synthetic log of each form;
- a what-if replay of 100,000 tasks from a synthetic log of each form, at the head (tasks
  from the projection) and one position before it (every task folded from the log).

Storage (bytes per task and per decision) is the `storage` benchmark's."""

import json
import sys
import tempfile
import time
from pathlib import Path

import httpx

from domain.values import Algorithm
from tests.benchmarks.harness import Report, Row, Scale, child_json
from tests.benchmarks.http_load import SUBMIT_LUA, wrk
from tests.benchmarks.servers import server
from tests.benchmarks.synthetic import demo_pools, many_pools, migrated_log

REGIONS = ("us-east", "us-west", "eu-west", "ap-east")
BASELINE = "whole decisions"
E2E = {
    "TASKROUTERX_SIM_MIN_LATENCY_S": "0",
    "TASKROUTERX_SIM_MAX_LATENCY_S": "0",
    "TASKROUTERX_SIM_FAILURE_RATE": "0",
    "TASKROUTERX_DEMO_POOLS": "false",
}


def run(scale: Scale, report: Report) -> None:
    with tempfile.TemporaryDirectory() as directory:
        served(Path(directory), scale, report)
        rebuilt(Path(directory), scale, report)
        replayed(Path(directory), scale, report)


def served(directory: Path, scale: Scale, report: Report) -> None:
    script = directory / "submit.lua"
    script.write_text(SUBMIT_LUA)
    many = scale.records_pools
    for pools, seconds in ((8, scale.http_seconds), (many, max(1, scale.http_seconds // 2))):
        figures: dict[str, list[tuple[float, float]]] = {"app": [], "app-whole": []}
        for attempt in range(scale.runs):
            for kind in figures:  # alternating, so drift touches both alike
                database = directory / f"served-{kind}-{pools}-{attempt}.db"
                figures[kind].append(_serve(kind, database, pools, seconds, script))
                database.unlink()
        case = f"{pools:,} pools, 64 connections, 0 s workers"
        for index, metric in enumerate(("submissions/s", "completed tasks/s end to end")):
            compact = sorted(figure[index] for figure in figures["app"])
            whole = sorted(figure[index] for figure in figures["app-whole"])
            report.add(
                Row("records", case, metric, compact[len(compact) // 2], "req/s" if index == 0
                    else "tasks/s", BASELINE, whole[len(whole) // 2])
            )  # fmt: skip


def _serve(
    kind: str, database: Path, pools: int, seconds: int, script: Path
) -> tuple[float, float]:
    """(submissions/s under wrk, tasks completed per second from the first submission
    until every task is done)."""
    with server(kind, database, **E2E) as url, httpx.Client(base_url=url, timeout=60) as client:
        for index in range(pools):
            region, kind_of = REGIONS[index % 4], ("cpu", "gpu")[index // 4 % 2]
            client.post(
                "/api/v1/workers",
                json={
                    "name": f"{region}-{kind_of}-{index:04d}",
                    "region": region,
                    "resource_type": kind_of,
                    "cost_per_unit": 1.0 + index % 7 / 10,
                    "capacity": 1_000_000 // pools,
                },
            ).raise_for_status()
        started = time.perf_counter()
        submitted = wrk(url, 64, seconds, script)
        deadline = started + 600
        while time.perf_counter() < deadline:
            stats = client.get("/api/v1/system/stats").json()
            if stats["tasks_pending"] == 0 and stats["tasks_processing"] == 0:
                break
            time.sleep(0.1)
        return submitted.requests_per_s, stats["tasks_processed"] / (time.perf_counter() - started)


def _log(directory: Path, name: str, events: int, pools: int, whole: bool, report: Report) -> Path:
    return migrated_log(
        directory / f"{name}.db",
        events,
        report.console,
        whole_decisions=whole,
        pools=demo_pools() if pools == 8 else many_pools(pools),
    )


def rebuilt(directory: Path, scale: Scale, report: Report) -> None:
    for pools, events in (
        (8, scale.records_rebuild_events),
        (scale.records_pools, max(scale.records_rebuild_events // 15, 3 * scale.records_pools)),
    ):
        logs = {
            form: _log(
                directory, f"rebuild-{form}-{pools}", events, pools, form == BASELINE, report
            )
            for form in ("compact", BASELINE)
        }
        rates: dict[str, list[float]] = {form: [] for form in logs}
        for _ in range(scale.runs):
            for form, path in logs.items():
                rates[form].append(_rebuild_rate(path))
        for path in logs.values():
            path.unlink()
        compact, whole = sorted(rates["compact"]), sorted(rates[BASELINE])
        report.add(
            Row("records", f"{pools:,} pools, {events:,} events", "rebuild all projections",
                compact[len(compact) // 2], "events/s", BASELINE, whole[len(whole) // 2])
        )  # fmt: skip


def _rebuild_rate(path: Path) -> float:
    result = child_json("tests.benchmarks.replay", "ours", str(path))
    return float(result["events"] / result["seconds"])


def replayed(directory: Path, scale: Scale, report: Report) -> None:
    tasks = scale.records_whatif_tasks
    events = 8 + 5 * tasks
    logs = {
        form: _log(directory, f"whatif-{form}", events, 8, form == BASELINE, report)
        for form in ("compact", BASELINE)
    }
    seconds: dict[str, dict[str, list[float]]] = {form: {"head": [], "past": []} for form in logs}
    for _ in range(scale.runs):
        for form, path in logs.items():
            for where, value in _whatif_seconds(path).items():
                seconds[form][where].append(value)
    for where, label in (("head", "at the head"), ("past", "one position before the head")):
        compact = sorted(seconds["compact"][where])
        whole = sorted(seconds[BASELINE][where])
        report.add(
            Row("records", f"8 pools, {tasks:,} tasks", f"what-if replay {label}",
                compact[len(compact) // 2], "s", BASELINE, whole[len(whole) // 2])
        )  # fmt: skip


def _whatif_seconds(path: Path) -> dict[str, float]:
    return child_json("tests.benchmarks.records", str(path))  # type: ignore[no-any-return]


def whatif_child(path: Path) -> dict[str, float]:
    """In a fresh process: the projections rebuilt, then a what-if (min_cost) at the head
    and one position before it, timed."""
    from application.audit.whatif import compare
    from infrastructure.bootstrap import bootstrap
    from infrastructure.settings import Settings

    router = bootstrap(
        Settings(
            database_url=f"sqlite:///{path}",
            scheduler="off",
            simulator="off",
            verify_continuously=False,
        )
    )
    router.runner.rebuild_at_once(router.runner.names)
    head = router.replays.head()
    timings = {}
    for where, position in (("head", head), ("past", head - 1)):
        started = time.perf_counter()
        result = compare(router.replays.up_to(position), Algorithm.MIN_COST)
        timings[where] = time.perf_counter() - started
        if result["tasks"] == 0:
            raise SystemExit("the what-if replayed no task")
    router.engines.dispose()
    return timings


if __name__ == "__main__":
    print(json.dumps(whatif_child(Path(sys.argv[1]))))
