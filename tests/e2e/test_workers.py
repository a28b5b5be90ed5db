"""Real worker processes (`taskrouterx worker`) against the real server: a worker killed
with SIGKILL mid-task loses its lease and the task completes exactly once on the other;
a task that always fails lands in the dead letters after its attempts, with the backoff
between them in its timeline; a worker stopped with SIGTERM gives its task back."""

import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.support import Server, wait_until

LEASE_S = "2"
SCRIPT = """
import json, os, sys, time
task = json.load(sys.stdin)
meta = task["task_metadata"]
parent = os.getppid()
with open(meta["log"], "a") as log:
    log.write(f"start {task['id']} {parent}\\n")
deadline = time.monotonic() + meta.get("sleep", 0)
while time.monotonic() < deadline:
    if os.getppid() != parent:  # the worker died: a well-behaved command stops too
        sys.exit(1)
    time.sleep(0.05)
if meta.get("fail"):
    print("it went wrong", file=sys.stderr)
    sys.exit(3)
with open(meta["log"], "a") as log:
    log.write(f"done {task['id']} {parent}\\n")
"""


@dataclass
class Setup:
    server: Server
    client: httpx.Client
    script: Path
    runs: Path
    logs: Path


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    running = Server(
        tmp_path / "workers.db",
        tmp_path / "server.log",
        TASKROUTERX_DEMO_POOLS="false",
        TASKROUTERX_SIMULATOR="off",
        TASKROUTERX_LEASE_S=LEASE_S,
    )
    client = running.client
    pool = client.post(
        "/api/v1/workers",
        json={"name": "lab-cpu", "region": "lab", "resource_type": "cpu", "cost_per_unit": 1.0,
              "capacity": 2, "execution": "external"},
    )  # fmt: skip
    assert pool.status_code == 201, pool.text
    script = tmp_path / "task.py"
    script.write_text(SCRIPT)
    try:
        yield Setup(running, client, script, tmp_path / "runs.txt", tmp_path)
    finally:
        running.stop()


def start_worker(setup: Setup, name: str, *options: str) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "interfaces", "worker", "--pool", "lab-cpu", "--url",
        setup.server.url, "--worker-id", name, "--heartbeat-s", "0.4", *options, "--",
        sys.executable, str(setup.script),
    ]  # fmt: skip
    output = (setup.logs / f"{name}.log").open("ab")
    return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)


def submit(setup: Setup, task: dict[str, Any] | None = None, **metadata: Any) -> str:
    body = {
        "type": "simulation", "priority": 5, "cost": 1.0, "region": "lab",
        "resource_type": "cpu", "metadata": {"log": str(setup.runs), **metadata}, **(task or {}),
    }  # fmt: skip
    response = setup.client.post("/api/v1/tasks", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def runs(setup: Setup) -> list[list[str]]:
    if not setup.runs.exists():
        return []
    return [line.split() for line in setup.runs.read_text().splitlines()]


def events_of(setup: Setup, task_id: str) -> list[dict[str, Any]]:
    return list(setup.client.get(f"/api/v1/tasks/{task_id}/events").json()["events"])


def stop(*workers: subprocess.Popen[bytes]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    for worker in workers:
        worker.wait(timeout=30)


def test_a_task_of_a_worker_killed_mid_task_completes_once_on_the_other(setup: Setup) -> None:
    workers = {name: start_worker(setup, name) for name in ("w-a", "w-b")}
    try:
        task_id = submit(setup, sleep=3)
        started = wait_until(lambda: [run for run in runs(setup) if run[0] == "start"])
        victim_pid = int(started[0][2])
        (victim,) = [name for name, w in workers.items() if w.pid == victim_pid]
        workers[victim].send_signal(signal.SIGKILL)
        workers[victim].wait(timeout=10)

        task = wait_until(
            lambda: (
                (t := setup.client.get(f"/api/v1/tasks/{task_id}").json())["status"] == "completed"
                and t
            ),
            timeout=60,
        )
        assert task["attempt"] == 2
        kinds = [event["type"] for event in events_of(setup, task_id)]
        assert kinds.count("TaskCompleted") == 1
        assert kinds.count("TaskLeaseExpired") == 1
        leases = [e["payload"]["worker_id"] for e in events_of(setup, task_id)
                  if e["type"] == "TaskLeased"]  # fmt: skip
        survivor = "w-b" if victim == "w-a" else "w-a"
        assert leases == [victim, survivor]
        done = [run for run in runs(setup) if run[0] == "done"]
        assert done == [["done", task_id, str(workers[survivor].pid)]]
        pools = setup.client.get("/api/v1/workers").json()["worker_pools"]
        assert pools[0]["current_load"] == 0
    finally:
        stop(*workers.values())


def test_a_task_that_always_fails_is_dead_lettered_with_its_backoffs_visible(
    setup: Setup,
) -> None:
    worker = start_worker(setup, "w-a")
    try:
        task_id = submit(setup, fail=True, task={"max_attempts": 3, "retry_backoff_s": 1.0})
        failed = wait_until(
            lambda: (
                (t := setup.client.get(f"/api/v1/tasks/{task_id}").json())["status"] == "failed"
                and t
            ),
            timeout=60,
        )
        assert failed["attempt"] == 3
        assert failed["error"] == "exit status 3: it went wrong"
        letters = setup.client.get("/api/v1/dead-letters").json()
        assert [task["id"] for task in letters["tasks"]] == [task_id]

        timeline = setup.client.get(f"/api/v1/tasks/{task_id}/timeline").json()
        assert [state["state"] for state in timeline["states"]] == [
            "queued", "processing", "delayed", "queued", "processing", "delayed", "queued",
            "processing", "failed",
        ]  # fmt: skip
        backoffs = [s["seconds"] for s in timeline["states"] if s["state"] == "delayed"]
        # 1 s then 2 s, each with equal jitter (between half and all of it), plus the
        # moment the timekeeper takes to notice
        assert 0.5 <= backoffs[0] <= 2.0
        assert 1.0 <= backoffs[1] <= 3.0
        failures = [e for e in events_of(setup, task_id) if e["type"] == "TaskFailed"]
        gaps = [
            _seconds(failures[1]["payload"]["retry_at"]) - _seconds(failures[1]["payload"]["failed_at"]),
            _seconds(failures[0]["payload"]["retry_at"]) - _seconds(failures[0]["payload"]["failed_at"]),
        ]  # fmt: skip
        assert 1.0 <= gaps[0] <= 2.0
        assert 0.5 <= gaps[1] <= 1.0
        assert failures[2]["payload"]["retry_at"] is None

        retried = setup.client.post(f"/api/v1/tasks/{task_id}/retry")
        assert retried.status_code == 200
        assert retried.json()["status"] == "delayed"
        wait_until(lambda: setup.client.get(f"/api/v1/tasks/{task_id}").json()["attempt"] == 4)
        retry = [e for e in events_of(setup, task_id) if e["type"] == "TaskRetried"]
        assert retry[0]["metadata"]["actor"] == "api"
    finally:
        stop(worker)


def test_a_worker_stopped_with_sigterm_after_its_grace_gives_the_task_back(
    setup: Setup,
) -> None:
    leaving = start_worker(setup, "w-leaving", "--grace-s", "0")
    task_id = submit(setup, sleep=2)
    wait_until(lambda: runs(setup))
    leaving.send_signal(signal.SIGTERM)
    assert leaving.wait(timeout=30) == 0
    assert "TaskReleased" in [event["type"] for event in events_of(setup, task_id)]
    staying = start_worker(setup, "w-staying")
    try:
        wait_until(
            lambda: setup.client.get(f"/api/v1/tasks/{task_id}").json()["status"] == "completed"
        )
        task_events = events_of(setup, task_id)
        assert not [e for e in task_events if e["type"] == "TaskFailed"], "a release is no failure"
        assert [e["payload"]["worker_id"] for e in task_events if e["type"] == "TaskLeased"] == [
            "w-leaving",
            "w-staying",
        ]
    finally:
        stop(staying)


def _seconds(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_a_worker_whose_command_cannot_start_gives_the_task_back_and_stops(
    setup: Setup,
) -> None:
    task_id = submit(setup)
    command = [
        sys.executable, "-m", "interfaces", "worker", "--pool", "lab-cpu", "--url",
        setup.server.url, "--worker-id", "w-broken", "--", str(setup.logs / "missing.sh"),
    ]  # fmt: skip
    broken = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert broken.returncode == 1
    assert (
        broken.stderr.strip()
        .splitlines()[-1]
        .startswith("error: the command cannot start: [Errno 2] No such file or directory")
    )
    kinds = [event["type"] for event in events_of(setup, task_id)]
    assert "TaskReleased" in kinds
    assert "TaskFailed" not in kinds, "a broken worker is not the task's failure"
