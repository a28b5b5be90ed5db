"""A node served from two processes (`--processes 2`), the real server on a real SQLite
file: the HTTP process answers as one process does, and the pair lives and dies together,
never losing what was acknowledged."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import httpx

from tests.e2e.support import Server, children, wait_until

TWO = {"TASKROUTERX_PROCESSES": "2"}
TASK = {"type": "order", "priority": 5, "cost": 1.5, "region": "us-east"}


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def queued_ids(database: Path) -> set[str]:
    with closing(sqlite3.connect(database)) as db:
        rows = db.execute("SELECT stream_id FROM events WHERE type = 'TaskQueued'")
        return {stream[5:] for (stream,) in rows}


def test_the_http_process_answers_as_one_process_does(tmp_path: Path) -> None:
    server = Server(tmp_path / "two.db", tmp_path / "server.log", **TWO)
    try:
        helpers = children(server.process.pid)
        assert len(children(server.process.pid, "writer_process")) == 1
        (verifier,) = children(server.process.pid, "verifier_process")
        assert len(helpers) == 2, "a writer process and a verifier process"

        def niceness() -> int:
            return int(Path(f"/proc/{verifier}/stat").read_text().rsplit(")", 1)[1].split()[16])

        assert wait_until(lambda: niceness() == 10, timeout=30), "the audit yields to commands"
        client = server.client
        created = client.post("/api/v1/tasks", json=TASK)
        assert created.status_code == 201, created.text
        task = created.json()
        read = client.get(f"/api/v1/tasks/{task['id']}")
        assert read.status_code == 200, "read your writes: the HTTP process reads it at once"
        assert read.json()["id"] == task["id"]

        key = {"Idempotency-Key": "two-processes-1"}
        first = client.post("/api/v1/tasks", json=TASK, headers=key)
        again = client.post("/api/v1/tasks", json=TASK, headers=key)
        assert first.status_code == again.status_code == 201
        assert again.headers["Idempotency-Replayed"] == "true"
        assert again.json()["id"] == first.json()["id"]

        missing = client.post(f"/api/v1/tasks/{task['id'][:-4]}0000/complete")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert client.post("/api/v1/tasks", json={**TASK, "priority": 11}).status_code == 422

        done = wait_until(
            lambda: (
                client.get(f"/api/v1/tasks/{task['id']}").json()["status"] == "completed" or None
            ),
            timeout=30,
        )
        assert done, "the scheduler and the simulated workers run in the writer process"
        assert client.get("/api/v1/health").json()["status"] == "healthy"
        verified = wait_until(
            lambda: (
                (answer := client.get("/api/v1/audit/verify")).status_code == 200
                and answer.json()["behind"] == 0
                and answer.json()
            ),
            timeout=30,
        )
        assert verified["ok"] is True
        assert verified["decisions_checked"] >= 1, "the verifier process recomputed decisions"
        assert client.get("/api/v1/projections").status_code == 200

        metrics = client.get("/metrics").text
        families = [line.split()[2] for line in metrics.splitlines() if line.startswith("# TYPE")]
        assert len(families) == len(set(families)), "each family once"
        assert 'taskrouterx_http_requests_total{method="POST"' in metrics  # this process's
        assert "taskrouterx_events_appended_total{" in metrics  # the writer process's
        assert "taskrouterx_tasks{" in metrics or "taskrouterx_queue" in metrics
    finally:
        server.stop()
    assert server.process.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
    assert not any(alive(pid) for pid in helpers), "the writer and verifier stopped with it"
    assert '"taskrouterx.stopped"' in (tmp_path / "server.log").read_text(), "it stopped cleanly"


def test_a_full_writer_queue_is_still_503_with_retry_after(tmp_path: Path) -> None:
    database = tmp_path / "full.db"
    server = Server(database, tmp_path / "server.log", TASKROUTERX_MAX_WRITER_BACKLOG="2", **TWO)
    try:
        with ThreadPoolExecutor(64) as pool:
            answers = list(
                pool.map(lambda _: server.client.post("/api/v1/tasks", json=TASK), range(400))
            )
    finally:
        server.stop()
    refused = [answer for answer in answers if answer.status_code == 503]
    created = {answer.json()["id"] for answer in answers if answer.status_code == 201}
    assert refused, "64 clients against a queue of 2 should be refused some of the time"
    assert created
    assert len(refused) + len(created) == len(answers)
    assert all(answer.headers["Retry-After"] for answer in refused)
    assert {answer.json()["type"].rsplit("/", 1)[1] for answer in refused} == {"ServiceOverloaded"}
    assert queued_ids(database) == created, "what was refused wrote nothing"


def test_a_writer_process_that_dies_stops_the_server_and_loses_nothing(tmp_path: Path) -> None:
    database = tmp_path / "lost.db"
    server = Server(database, tmp_path / "server.log", **TWO)
    acknowledged = set()
    try:
        for _ in range(20):
            response = server.client.post("/api/v1/tasks", json=TASK)
            assert response.status_code == 201
            acknowledged.add(response.json()["id"])
        (writer,) = children(server.process.pid, "writer_process")
        os.kill(writer, signal.SIGKILL)
        server.process.wait(timeout=30)
    finally:
        server.stop()
    assert server.process.returncode != 0, "a supervisor sees the node failed"
    assert "the writer process exited unexpectedly" in (tmp_path / "server.log").read_text()
    assert acknowledged <= queued_ids(database)

    restarted = Server(database, tmp_path / "server.log", **TWO)
    try:
        for task_id in acknowledged:
            assert restarted.client.get(f"/api/v1/tasks/{task_id}").status_code == 200
    finally:
        restarted.stop()


def test_a_killed_http_process_takes_its_helper_processes_with_it(tmp_path: Path) -> None:
    server = Server(tmp_path / "killed.db", tmp_path / "server.log", **TWO)
    helpers = children(server.process.pid)
    assert len(helpers) == 2
    server.kill()
    wait_until(lambda: not any(alive(pid) for pid in helpers), timeout=10)


def test_one_process_stays_possible_and_more_than_two_is_refused(tmp_path: Path) -> None:
    server = Server(tmp_path / "one.db", tmp_path / "server.log", TASKROUTERX_PROCESSES="1")
    try:
        assert children(server.process.pid) == []
        assert server.client.post("/api/v1/tasks", json=TASK).status_code == 201
    finally:
        server.stop()
    refused = subprocess.run(
        [sys.executable, "-m", "interfaces", "serve", "--processes", "3"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TASKROUTERX_DATABASE_URL": f"sqlite:///{tmp_path / 'no.db'}"},
    )
    assert refused.returncode != 0
    assert "--processes" in refused.stderr
    assert not (tmp_path / "no.db").exists()


def test_a_terminal_interrupt_stops_both_gracefully(tmp_path: Path) -> None:
    """Ctrl-C reaches the HTTP process only (the writer process has its own session); the
    HTTP process stops serving, then asks the writer process to finish and stop."""
    database = tmp_path / "interrupt.db"
    server = Server(database, tmp_path / "server.log", **TWO)
    helpers = children(server.process.pid)
    created = server.client.post("/api/v1/tasks", json=TASK).json()["id"]
    server.process.send_signal(signal.SIGINT)
    server.process.wait(timeout=30)
    server.stop()
    assert server.process.returncode in (0, -signal.SIGINT)  # uvicorn re-raises the signal
    assert '"taskrouterx.stopped"' in (tmp_path / "server.log").read_text()
    wait_until(lambda: not any(alive(pid) for pid in helpers), timeout=10)
    assert created in queued_ids(database)
    with closing(sqlite3.connect(database)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    time.sleep(0)  # nothing else runs on the database now
    with httpx.Client() as client:
        try:
            client.get(server.url + "/api/v1/health", timeout=1)
            raise AssertionError("the port should be closed")
        except httpx.TransportError:
            pass
