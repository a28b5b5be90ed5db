"""Decision records rebuilt exactly from the log while the real server pipelines: the
single writer groups commands, the scheduler sends up to 256 assignments before any answer,
simulated workers finish tasks, and an operator drains, resumes and resizes pools and
switches the algorithm in the middle of it all. Every decision must verify from the log
alone (its rebuilt board hashes to its digest and recomputes to the same outcome), and
explaining any task rebuilds its candidates. On SQLite and on PostgreSQL."""

import random
import threading
import time
from collections.abc import Iterator

import pytest

from application.audit.explain import decisions_view
from application.commands.change_pool_capacity import ChangePoolCapacity
from application.commands.pool_operations import DrainPool, ResumePool
from application.commands.submit_task import SubmitTask
from application.commands.switch_algorithm import SwitchAlgorithm
from application.errors import ServiceOverloaded
from application.messages import Command, MessageContext
from domain.errors import DomainError
from domain.events import TaskDeferred, WorkerAssigned
from domain.scheduling import DecisionRecord
from domain.task import task_stream
from domain.values import Algorithm, ResourceType, TaskType
from infrastructure.bootstrap import TaskRouter, bootstrap
from infrastructure.settings import Settings
from tests.sqlite_support import sqlite_url

TASKS = 1500
REGIONS = ["us-east", "us-west", "eu-west", "ap-east"]


def running(url: str) -> TaskRouter:
    settings = Settings(
        database_url=url,
        sim_min_latency_s=0.0,
        sim_max_latency_s=0.02,
        sim_failure_rate=0.1,
        sim_seed=3,
        id_seed=3,
    )
    router = bootstrap(settings)
    router.start()
    return router


@pytest.fixture(params=["sqlite", "postgresql"])
def router(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[TaskRouter]:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path)  # type: ignore[arg-type]
    else:
        url = request.getfixturevalue("postgres_url")
    router = running(url)
    yield router
    router.stop()


def send(router: TaskRouter, command: Command, context: str) -> None:
    while True:
        try:
            router.sender.submit(command, MessageContext(context)).result(30)
            return
        except ServiceOverloaded:
            time.sleep(0.01)
        except DomainError:
            return


OPERATIONS = 40


def operate(router: TaskRouter, stop: threading.Event) -> int:
    """An operator racing the scheduler: capacity changes, drains and resumes, switches,
    until the submissions are in and at least OPERATIONS were made."""
    rng = random.Random(7)
    done = 0
    while not stop.is_set() or done < OPERATIONS:
        pool = rng.choice(router.read_model.list_pools())
        roll = rng.random()
        if roll < 0.5:
            command: Command = ChangePoolCapacity(pool["id"], rng.randint(0, 12))
        elif roll < 0.85:
            command = ResumePool(pool["id"]) if pool["draining"] else DrainPool(pool["id"])
        else:
            command = SwitchAlgorithm(rng.choice(list(Algorithm)))
        send(router, command, f"op-{done}")
        done += 1
        time.sleep(rng.uniform(0.0, 0.01))
    for pool in router.read_model.list_pools():  # let every task finish
        send(router, ResumePool(pool["id"]), "op-end")
        send(router, ChangePoolCapacity(pool["id"], 10), "op-end")
    return done


def unfinished(router: TaskRouter) -> int:
    """Tasks waiting, delayed for a retry or running."""
    counts = router.read_model.status_counts()
    return sum(counts.get(status, 0) for status in ("queued", "delayed", "processing"))


def test_every_pipelined_decision_is_rebuilt_from_the_log(router: TaskRouter) -> None:
    rng = random.Random(5)
    stop = threading.Event()
    operations: list[int] = []
    operator = threading.Thread(target=lambda: operations.append(operate(router, stop)))
    operator.start()
    futures = []
    for index in range(TASKS):
        command = SubmitTask(
            rng.choice(list(TaskType)),
            rng.randint(1, 10),
            1.0,
            rng.choice(REGIONS),
            rng.choice([None, ResourceType.CPU, ResourceType.GPU]),
        )
        futures.append(router.sender.submit(command, MessageContext(f"req-{index}")))
        if index % 50 == 49:
            time.sleep(0.1)  # bursts, a few seconds in all: the operator gets its turns
    task_ids = [future.result(30).aggregate_id for future in futures]
    stop.set()
    operator.join(60)
    deadline = time.monotonic() + 90
    while unfinished(router) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert unfinished(router) == 0, "every task ran to its end (retries included)"
    assert operations, "the operator finished"
    assert operations[0] >= OPERATIONS, "the operator raced the scheduler"

    report = router.audit()
    assert (report.mismatch_count, report.violation_count, report.corrupt_count) == (0, 0, 0), (
        report.mismatches[:3] or report.violations[:3]
    )
    assert report.ok
    assert report.decisions_checked >= TASKS
    records = [
        recorded.event.decision
        for recorded in router.store.read_all(0, 1_000_000)
        if isinstance(recorded.event, WorkerAssigned | TaskDeferred)
    ]
    assert all(isinstance(record, DecisionRecord) for record in records)
    seen = [record.seen for record in records if isinstance(record, DecisionRecord)]
    assert len(set(seen)) < len(seen), "several decisions were made on one board (pipelined)"

    for task_id in rng.sample(task_ids, 25):
        assert task_id is not None
        history = router.read_model.history(task_stream(task_id))
        for view in decisions_view(history, router.read_model):
            assert len(view["candidates"]) == view["pools_seen"] == 8
