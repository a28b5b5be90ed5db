"""Crash safety: the real server is SIGKILLed at seeded random moments while clients
submit and complete tasks concurrently, five times over one database. Afterwards every
acknowledged command is in the log, positions run 1..head without a gap, the tasks queued
or running at each crash are finished after the restart, the projections equal a rebuild
from the log, and `audit verify` (hash chain, decisions, invariants) passes.

Every submission carries an Idempotency-Key; those whose response was lost in a crash are
retried with the same key after the restart, and the log must hold exactly one task per
key: every task in it was acknowledged once, none twice."""

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from tests.e2e.support import Server, children, wait_until

KILLS = 5
PROJECTION_TABLES = (
    "tasks",
    "task_counts",
    "pool_load",
    "stats_counters",
    "stats_throughput",
    "checkpoints",
)


class Load:
    """Clients submitting tasks and completing running ones until told to stop or the
    server goes away; they keep what the server acknowledged."""

    def __init__(self, url: str, seed: int) -> None:
        self.url = url
        self.seed = seed
        self.submitted: set[str] = set()
        self.completed: set[str] = set()
        self.in_doubt: list[tuple[str, dict[str, object]]] = []
        """Requests sent when the server died: did they commit? Retry to find out."""
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._submit, args=(n,)) for n in range(6)] + [
            threading.Thread(target=self._complete)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _submit(self, number: int) -> None:
        rng = random.Random(self.seed * 100 + number)
        with httpx.Client(base_url=self.url, timeout=5) as client:
            sent = 0
            while not self._stop.is_set():
                body: dict[str, object] = {
                    "type": rng.choice(["order", "simulation", "query"]),
                    "priority": rng.randint(1, 10),
                    "cost": round(rng.uniform(0.1, 9), 2),
                    "region": rng.choice(["us-east", "us-west", "eu-west", "ap-east"]),
                }
                key = f"seed{self.seed}-client{number}-{sent}"
                sent += 1
                try:
                    response = client.post(
                        "/api/v1/tasks", json=body, headers={"Idempotency-Key": key}
                    )
                except httpx.TransportError:
                    with self._lock:
                        self.in_doubt.append((key, body))
                    return
                if response.status_code == 201:
                    with self._lock:
                        self.submitted.add(response.json()["id"])
                elif response.json().get("type", "").endswith("/OutcomeUnknown"):
                    # the writer process was lost with the command in hand (a 503 of
                    # another type, such as StoreUnavailable, was refused before it ran)
                    with self._lock:
                        self.in_doubt.append((key, body))

    def _complete(self) -> None:
        with httpx.Client(base_url=self.url, timeout=5) as client:
            while not self._stop.is_set():
                try:
                    running = client.get(
                        "/api/v1/tasks", params={"status": "processing", "page_size": 10}
                    ).json()["tasks"]
                    for task in running:
                        response = client.post(f"/api/v1/tasks/{task['id']}/complete")
                        if response.status_code == 200:
                            with self._lock:
                                self.completed.add(task["id"])
                except httpx.TransportError:
                    return


def retry(server: Server, requests: list[tuple[str, dict[str, object]]]) -> set[str]:
    """Resend requests whose response was lost, under their original keys."""
    ids = set()
    for key, body in requests:
        response = server.client.post("/api/v1/tasks", json=body, headers={"Idempotency-Key": key})
        assert response.status_code == 201, response.text
        ids.add(response.json()["id"])
    return ids


def logged(database: Path) -> tuple[set[str], set[str], list[int]]:
    with closing(sqlite3.connect(database)) as db:
        queued = {
            s[5:] for (s,) in db.execute("SELECT stream_id FROM events WHERE type = 'TaskQueued'")
        }
        completed = {
            s[5:]
            for (s,) in db.execute("SELECT stream_id FROM events WHERE type = 'TaskCompleted'")
        }
        positions = [p for (p,) in db.execute("SELECT position FROM events ORDER BY position")]
    return queued, completed, positions


def projections(database: Path) -> dict[str, list[tuple[object, ...]]]:
    with closing(sqlite3.connect(database)) as db:
        return {table: sorted(db.execute(f"SELECT * FROM {table}")) for table in PROJECTION_TABLES}


def cli(database: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "interfaces", *args],
        env={"TASKROUTERX_DATABASE_URL": f"sqlite:///{database}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(("processes", "kills"), [("2", KILLS), ("1", 3)])
def test_sigkill_never_loses_an_acknowledged_command(
    tmp_path: Path, processes: str, kills: int
) -> None:
    """With two processes, the kills alternate between the HTTP process (the writer
    process dies with it) and the writer process (the HTTP process then stops)."""
    database, output = tmp_path / "crash.db", tmp_path / "server.log"
    submitted: set[str] = set()
    completed: set[str] = set()
    in_doubt: list[tuple[str, dict[str, object]]] = []
    retried = 0
    for seed in range(kills):
        server = Server(database, output, TASKROUTERX_PROCESSES=processes)
        submitted |= retry(server, in_doubt)
        load = Load(server.url, seed)
        load.start()
        time.sleep(random.Random(seed).uniform(0.3, 2.0))
        if processes == "2" and seed % 2:
            (writer,) = children(server.process.pid, "writer_process")
            os.kill(writer, signal.SIGKILL)
            server.process.wait(timeout=30)
        server.kill()
        load.stop()
        submitted |= load.submitted
        completed |= load.completed
        in_doubt = load.in_doubt
        retried += len(in_doubt)

        queued, finished, positions = logged(database)
        assert load.submitted <= queued, "an acknowledged submission is missing"
        assert load.completed <= finished, "an acknowledged completion is missing"
        assert positions == list(range(1, len(positions) + 1))

    assert len(submitted) > 100, "the load should have been acknowledged many times"
    assert retried > 0, "some responses should have been lost in the crashes"
    server = Server(database, output, TASKROUTERX_PROCESSES=processes)
    try:
        submitted |= retry(server, in_doubt)
        queued, _, _ = logged(database)
        assert queued == submitted, "every task in the log was acknowledged, once"

        def drained() -> bool:
            stats = server.client.get("/api/v1/system/stats").json()
            return (
                stats["tasks_pending"] == stats["tasks_processing"] == stats["tasks_delayed"] == 0
            )

        wait_until(drained, timeout=120)
        stats = server.client.get("/api/v1/system/stats").json()
        queued, _, _ = logged(database)
        assert stats["tasks_completed"] + stats["tasks_failed"] == len(queued)
        assert all(
            p["current_load"] == 0
            for p in server.client.get("/api/v1/workers").json()["worker_pools"]
        )
    finally:
        server.stop()

    live = projections(database)
    rebuilt = tmp_path / "rebuilt.db"
    with closing(sqlite3.connect(database)) as source, closing(sqlite3.connect(rebuilt)) as copy:
        source.backup(copy)  # the WAL's committed pages included
    assert cli(rebuilt, "projections", "rebuild").returncode == 0
    assert projections(rebuilt) == live
    verified = cli(database, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
