"""Writes that fail mid-pipeline (the store's commits failing several times in a row, on
SQLite and on PostgreSQL) strand nothing: the scheduler, the timekeeper and the simulated
workers put their work back and retry with a backoff; health and the metrics show the
failure while it lasts; every task completes and every pool's load returns to 0 without a
restart."""

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from application.commands.submit_task import SubmitTask
from application.errors import StoreUnavailable
from application.messages import MessageContext
from domain.retry import RetryPolicy
from domain.values import TaskType
from infrastructure.bootstrap import TaskRouter, bootstrap
from infrastructure.settings import Settings
from tests.faults import CommitFaults
from tests.sqlite_support import sqlite_url

TASKS = 30
RETRIES = RetryPolicy(max_attempts=10, backoff_s=0.02, backoff_max_s=0.05)
"""Simulated failures are retried after short backoffs: the timekeeper's writes are in the
pipeline too, and no task runs out of attempts."""


def running_router(url: str, faults: CommitFaults, monkeypatch: pytest.MonkeyPatch) -> TaskRouter:
    settings = Settings(
        database_url=url,
        sim_min_latency_s=0.005,
        sim_max_latency_s=0.03,
        sim_failure_rate=0.2,
        sim_seed=5,
        id_seed=5,
    )
    router = bootstrap(settings)
    faults.install(router, monkeypatch)
    router.start()
    return router


@pytest.fixture
def faults() -> CommitFaults:
    return CommitFaults()


@pytest.fixture
def sqlite_router(
    tmp_path: Path, faults: CommitFaults, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TaskRouter]:
    router = running_router(sqlite_url(tmp_path), faults, monkeypatch)
    yield router
    router.stop()


@pytest.fixture
def postgres_router(
    postgres_url: str, faults: CommitFaults, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TaskRouter]:
    router = running_router(postgres_url, faults, monkeypatch)
    yield router
    router.stop()


def submit(router: TaskRouter, index: int, delay_s: float | None = None) -> str:
    """As a client would: a submission refused because the store failed is sent again."""
    not_before = None if delay_s is None else router.clock.now() + timedelta(seconds=delay_s)
    command = SubmitTask(
        TaskType.ORDER, 1 + index % 10, 1.0, "us-east", retry=RETRIES, not_before=not_before
    )
    while True:
        try:
            result = router.sender.submit(command, MessageContext(f"req-{index}")).result(10)
        except StoreUnavailable:
            time.sleep(0.01)
            continue
        assert result.aggregate_id is not None
        return result.aggregate_id


def wait_for(check, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.002)


def drive_through_faults(router: TaskRouter, faults: CommitFaults) -> list[dict]:  # type: ignore[type-arg]
    """Rounds that each fail three commits in a row, aimed in turn at the scheduler (the
    commits after a submission's own), the simulated workers (after a task starts) and
    the timekeeper (a delayed task's time coming), until each has had a round fail; each
    round waits for the reactors to recover. Returns health as seen while they failed."""
    reactors = router.reactors
    reports = []
    deadline = time.monotonic() + 90
    index = 0
    while index < TASKS or any(reactor.failures_total == 0 for reactor in reactors):
        assert time.monotonic() < deadline, [(r.name, r.failures_total) for r in reactors]
        injected = faults.injected
        match index % 3:
            case 0:
                faults.arm(3, after=1)
                submit(router, index)
            case 1:
                task_id = submit(router, index)
                wait_for(lambda: started(router, task_id))
                faults.arm(3)
            case 2:
                submit(router, index, delay_s=0.05)
                faults.arm(3)
        index += 1
        armed_at = time.monotonic()
        while faults.armed or any(reactor.failing for reactor in reactors):
            assert time.monotonic() < deadline, "the reactors did not recover"
            if any(reactor.failing for reactor in reactors):
                reports.append(router.health())
            elif faults.armed and faults.injected == injected and time.monotonic() > armed_at + 2:
                # the round's work was done before its faults were armed (a loaded machine:
                # the task finished before `arm`, or the delay passed during the submission):
                # no commit is coming to fail; go on to the next round
                faults.disarm()
            time.sleep(0.005)
    return reports


def started(router: TaskRouter, task_id: str) -> bool:
    task = router.read_model.get_task(task_id)
    return task is not None and task["status"] != "queued"


def unfinished(router: TaskRouter) -> int:
    counts = router.read_model.status_counts()
    return sum(count for status, count in counts.items() if status != "completed")


def assert_recovered(router: TaskRouter, reports: list[dict]) -> None:  # type: ignore[type-arg]
    scheduler = router.scheduler
    assert scheduler is not None
    wait_for(lambda: unfinished(router) == 0)
    assert router.read_model.status_counts()["completed"] >= TASKS
    assert [pool["current_load"] for pool in router.read_model.list_pools()] == [0] * 8
    wait_for(lambda: scheduler.claimed_slots == 0 and scheduler.waiting == 0)
    wait_for(lambda: router.health()["status"] == "healthy")
    health = router.health()
    assert health["scheduler"]["last_error"] is None
    assert health["simulator"]["status"] == "running"

    degraded = [report for report in reports if report["status"] == "degraded"]
    assert degraded, "health showed the failures while they lasted"
    failing = [
        report[name]
        for report in degraded
        for name in ("scheduler", "timekeeper", "simulator")
        if report[name]["status"] == "failing"
    ]
    assert failing
    assert all(entry["consecutive_failures"] >= 1 for entry in failing)
    assert all(entry["failing_since"] and entry["last_error"] for entry in failing)

    metrics = router.metrics_exposition()[0].decode()
    for reactor in ("scheduler", "timekeeper", "simulated-workers"):
        assert f'taskrouterx_reactor_failures_total{{reactor="{reactor}"}} 0.0' not in metrics
        assert f'taskrouterx_reactor_consecutive_failures{{reactor="{reactor}"}} 0.0' in metrics
    assert "taskrouterx_event_store_commit_failures_total 0.0" not in metrics
    assert router.audit().ok


def test_failed_commits_on_sqlite_strand_no_task_and_leak_no_slot(
    sqlite_router: TaskRouter, faults: CommitFaults
) -> None:
    reports = drive_through_faults(sqlite_router, faults)
    assert faults.injected >= 3
    assert_recovered(sqlite_router, reports)


def test_lost_connections_at_commit_on_postgresql_strand_no_task_and_leak_no_slot(
    postgres_router: TaskRouter, faults: CommitFaults
) -> None:
    wait_for(lambda: postgres_router.leadership is not None and postgres_router.leadership.leading)
    reports = drive_through_faults(postgres_router, faults)
    assert faults.injected >= 3
    assert_recovered(postgres_router, reports)
