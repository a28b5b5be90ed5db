"""Workers whose tasks are Python functions (interfaces.worker), as real processes against
the real server: a worker killed with SIGKILL mid-task, whose task completes exactly once
on the other; a cancel reaching a running async function (asyncio cancellation) and a sync
one (its attempt's flag); SIGTERM letting the running task finish and running nothing
more; a failing function's error (type, message, traceback) ending in the dead letters."""

import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from interfaces.client import Client
from tests.e2e.support import Server, wait_until

LEASE_S = "2"


@dataclass
class Lab:
    server: Server
    router: Client
    runs: Path
    logs: Path

    def worker(self, name: str, grace_s: float = 30.0) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "tests.e2e.python_worker_app", self.server.url, name,
                   str(grace_s)]  # fmt: skip
        output = (self.logs / f"{name}.log").open("ab")
        return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)

    def submit(self, type: str = "simulation", **metadata: Any) -> str:
        task = self.router.submit(type, 5, 1.0, "lab", resource_type="cpu",
                                  metadata={"log": str(self.runs), **metadata})  # fmt: skip
        return task["id"]

    def runs_of(self, task_id: str) -> list[list[str]]:
        lines = self.runs.read_text().splitlines() if self.runs.exists() else []
        return [line.split() for line in lines if line.split()[1] == task_id]

    def kinds(self, task_id: str) -> list[str]:
        events = self.router.run(_events(task_id))
        return [event["type"] for event in events]


def _events(task_id: str) -> Any:
    from interfaces.client.calls import Call

    return Call("GET", f"/tasks/{task_id}/events", result=lambda body: body["events"])


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    server = Server(tmp_path / "workers.db", tmp_path / "server.log",
                    TASKROUTERX_DEMO_POOLS="false", TASKROUTERX_SIMULATOR="off",
                    TASKROUTERX_LEASE_S=LEASE_S)  # fmt: skip
    router = Client(server.url)
    try:
        router.register_pool("lab-cpu", "lab", "cpu", 1.0, 4, execution="external")
        yield Lab(server, router, tmp_path / "runs.txt", tmp_path)
    finally:
        router.close()
        server.stop()


def stop(*workers: subprocess.Popen[bytes]) -> list[int]:
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    return [worker.wait(timeout=60) for worker in workers]


def test_a_task_of_a_worker_killed_mid_task_completes_once_on_the_other(lab: Lab) -> None:
    workers = {name: lab.worker(name) for name in ("w-a", "w-b")}
    try:
        task_id = lab.submit(sleep=3)
        (start,) = wait_until(lambda: lab.runs_of(task_id))
        victim = start[2]
        workers[victim].send_signal(signal.SIGKILL)
        workers[victim].wait(timeout=10)
        survivor = "w-b" if victim == "w-a" else "w-a"

        done = lab.router.wait(task_id, timeout_s=60)
        assert (done["status"], done["attempt"]) == ("completed", 2)
        kinds = lab.kinds(task_id)
        assert kinds.count("TaskCompleted") == 1
        assert kinds.count("TaskLeaseExpired") == 1
        assert [run[0] for run in lab.runs_of(task_id)] == ["start", "start", "done"]
        assert lab.runs_of(task_id)[-1] == ["done", task_id, survivor]
    finally:
        stop(*workers.values())


def test_a_cancel_reaches_a_running_async_function_and_a_sync_one(lab: Lab) -> None:
    worker = lab.worker("w-a")
    try:
        in_async = lab.submit("order", sleep=60)
        in_sync = lab.submit("simulation", sleep=60)
        for task_id in (in_async, in_sync):
            wait_until(lambda task_id=task_id: lab.runs_of(task_id))
            lab.router.cancel(task_id, reason="not needed any more")
        for task_id in (in_async, in_sync):
            assert lab.router.wait(task_id, timeout_s=30)["status"] == "cancelled"
            assert "TaskCompleted" not in lab.kinds(task_id)
        assert [run[0] for run in lab.runs_of(in_async)] == ["start", "cancelled"]
        assert [run[0] for run in lab.runs_of(in_sync)] == ["start", "stopped:CANCELLED"]
        follow_up = lab.submit("order")
        assert lab.router.wait(follow_up, timeout_s=30)["status"] == "completed", (
            "the worker goes on after a cancel"
        )
    finally:
        assert stop(worker) == [0]


def test_sigterm_lets_the_running_task_finish_and_runs_nothing_more(lab: Lab) -> None:
    worker = lab.worker("w-a", grace_s=30)
    task_id = lab.submit(sleep=2)
    wait_until(lambda: lab.runs_of(task_id))
    worker.send_signal(signal.SIGTERM)
    later = lab.submit()
    assert worker.wait(timeout=60) == 0
    assert lab.router.get(task_id)["status"] == "completed"
    assert [run[0] for run in lab.runs_of(task_id)] == ["start", "done"]
    assert lab.runs_of(later) == [], "a stopping worker runs nothing new"
    kinds = lab.kinds(later)
    # a lease that was waiting when the signal came may bring it: it is given back at once
    assert kinds.count("TaskLeased") == kinds.count("TaskReleased")
    assert not {"TaskLeaseExpired", "TaskFailed"} & set(kinds)
    assert lab.router.get(later)["lease"] is None


def test_a_failing_function_reports_its_error_and_ends_in_the_dead_letters(lab: Lab) -> None:
    worker = lab.worker("w-a")
    try:
        task = lab.router.submit("simulation", 5, 1.0, "lab", resource_type="cpu",
                                 metadata={"log": str(lab.runs), "fail": True},
                                 max_attempts=1)  # fmt: skip
        failed = lab.router.wait(task["id"], timeout_s=30)
        assert failed["status"] == "failed"
        error = failed["error"] or ""
        assert error.startswith("ValueError: it went wrong\n")
        assert "Traceback (most recent call last)" in error
        assert 'raise ValueError("it went wrong")' in error
        letters = lab.router.run(_dead_letters())
        assert task["id"] in [each["id"] for each in letters]
    finally:
        stop(worker)


def _dead_letters() -> Any:
    from interfaces.client.calls import Call

    return Call("GET", "/dead-letters", result=lambda body: body["tasks"])
