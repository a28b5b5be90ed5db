"""The live event log over Server-Sent Events from the real server: ids are log positions,
a reconnect with Last-Event-ID resumes with nothing lost or repeated, new commits arrive
without polling, and a quiet stream is kept alive with pings."""

import json
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.support import Server

TASK = {"type": "order", "priority": 5, "cost": 1, "region": "us-east"}


def frames(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """SSE frames as {"id", "event", "data"} or {"comment"}, one per blank-line block."""
    frame: dict[str, Any] = {}
    for line in lines:
        if line == "":
            if frame:
                yield frame
            frame = {}
        elif line.startswith(":"):
            frame["comment"] = line[1:].strip()
        else:
            field, _, value = line.partition(": ")
            frame[field] = json.loads(value) if field == "data" else value


def take(client: httpx.Client, count: int, **options: Any) -> list[dict[str, Any]]:
    headers = options.pop("headers", {})
    got: list[dict[str, Any]] = []
    with client.stream("GET", "/api/v1/events/stream", params=options, headers=headers,
                       timeout=30) as response:  # fmt: skip
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for frame in frames(response.iter_lines()):
            got.append(frame)
            if len([f for f in got if "id" in f or "comment" in f]) >= count:
                break
    return got


def test_the_log_streams_live_and_resumes_after_the_last_event_id(tmp_path: Path) -> None:
    server = Server(tmp_path / "sse.db", tmp_path / "server.log", TASKROUTERX_SIMULATOR="off")
    try:
        client = server.client
        first = [f for f in take(client, 5) if "id" in f]
        assert [int(f["id"]) for f in first] == [1, 2, 3, 4, 5]
        assert all(f["event"] == "WorkerPoolRegistered" for f in first)
        assert first[0]["data"]["position"] == 1

        resumed = [f for f in take(client, 3, headers={"Last-Event-ID": "5"}) if "id" in f]
        assert [int(f["id"]) for f in resumed] == [6, 7, 8], "resumes after 5: none lost or twice"

        head = client.get("/api/v1/events", params={"limit": 1}).json()["head"]
        live: list[dict[str, Any]] = []
        with client.stream("GET", "/api/v1/events/stream", params={"after": head},
                           timeout=30) as response:  # fmt: skip
            lines = response.iter_lines()
            submitted = client.post("/api/v1/tasks", json=TASK).json()
            for frame in frames(lines):
                if "id" in frame:
                    live.append(frame)
                if any(f["event"] == "WorkerAssigned" for f in live):
                    break
        assert [f["event"] for f in live[:2]] == ["TaskQueued", "WorkerAssigned"]
        assert int(live[0]["id"]) == head + 1
        assert live[0]["data"]["stream_id"] == f"task-{submitted['id']}"

        now = client.get("/api/v1/events", params={"limit": 1}).json()["head"]
        quiet = take(client, 1, after=now, ping_s=1)
        assert quiet[0] == {"retry": "1000"}, "the client is told how soon to reconnect"
        assert [f.get("comment") for f in quiet[1:]] == ["ping"]
        typed = [f for f in take(client, 2, type="TaskQueued", ping_s=1) if "id" in f]
        assert [f["event"] for f in typed] == ["TaskQueued"] * len(typed)
        refused = client.get("/api/v1/events/stream", headers={"Last-Event-ID": "x"})
        assert refused.status_code == 422
        beyond = client.get("/api/v1/events/stream", params={"after": now + 1000})
        assert beyond.status_code == 422, "a start past the head is refused, not pinged forever"
        assert "after the log head" in beyond.json()["detail"]
        overflow = {"Last-Event-ID": "99999999999999999999"}
        too_big = client.get("/api/v1/events/stream", headers=overflow)
        assert too_big.status_code == 422, "refused before the stream starts"
        assert too_big.headers["content-type"] == "application/problem+json"
        assert client.get("/api/v1/health").status_code == 200, "the server survived it all"
    finally:
        server.stop()


SERVERS = {
    "cli": [sys.executable, "-m", "interfaces", "serve"],
    "asgi-factory": [sys.executable, "-m", "uvicorn", "interfaces.http.asgi:create", "--factory"],
}


@pytest.mark.parametrize("served_by", sorted(SERVERS))
def test_a_server_told_to_stop_ends_its_streams_and_long_polls_and_exits(
    tmp_path: Path, served_by: str
) -> None:
    """Open responses would hold a graceful shutdown for as long as their clients stay: a
    dashboard left open, a worker's long poll. SIGTERM ends them, and the server exits,
    whether `taskrouterx serve` runs it or uvicorn runs the app factory."""
    server = Server(tmp_path / "stop.db", tmp_path / "server.log", command=SERVERS[served_by],
                    TASKROUTERX_SIMULATOR="off")  # fmt: skip
    external = {"name": "ext", "region": "r", "resource_type": "cpu", "cost_per_unit": 1,
                "capacity": 1, "execution": "external"}  # fmt: skip
    pool = server.client.post("/api/v1/workers", json=external).json()
    ended: dict[str, Any] = {}

    def stream() -> None:
        with httpx.stream("GET", f"{server.url}/api/v1/events/stream", timeout=60) as response:
            ended["stream_events"] = sum(1 for f in frames(response.iter_lines()) if "id" in f)

    def long_poll() -> None:
        body = {"worker_id": "w", "max_tasks": 1, "wait_s": 60}
        response = httpx.post(f"{server.url}/api/v1/workers/{pool['id']}/lease", json=body,
                              timeout=70)  # fmt: skip
        ended["lease"] = (response.status_code, response.json()["tasks"])

    clients = [threading.Thread(target=stream), threading.Thread(target=long_poll)]
    for client in clients:
        client.start()
    head = server.client.get("/api/v1/events", params={"limit": 1}).json()["head"]
    time.sleep(1)  # both are waiting now
    server.process.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal it caught
    assert server.process.wait(timeout=15) == -signal.SIGTERM, "the server exited by itself"
    for client in clients:
        client.join(timeout=5)
    server.stop()
    assert ended == {"stream_events": head, "lease": (200, [])}
    assert "taskrouterx.stopped" in (tmp_path / "server.log").read_text(), "its lifespan ended"


def test_a_stream_reads_past_a_damaged_row_and_names_it(tmp_path: Path) -> None:
    import sqlite3

    database = tmp_path / "damaged.db"
    server = Server(database, tmp_path / "server.log", TASKROUTERX_SIMULATOR="off",
                    TASKROUTERX_SCHEDULER="off")  # fmt: skip
    for _ in range(3):
        server.client.post("/api/v1/tasks", json=TASK)
    head = server.client.get("/api/v1/events", params={"limit": 1}).json()["head"]
    with sqlite3.connect(database) as db:
        db.execute("UPDATE events SET payload = '{not json' WHERE position = ?", (head - 1,))
    try:
        got = [f for f in take(server.client, head, ping_s=1) if "id" in f]
        assert [int(f["id"]) for f in got] == list(range(1, head + 1)), "none lost"
        damaged = got[head - 2]
        assert damaged["event"] == "CorruptEvent"
        assert f"position {head - 1}" in damaged["data"]["detail"]
        assert got[-1]["event"] == "TaskQueued"
    finally:
        server.stop()


def test_a_stream_for_one_tenant_holds_its_events_from_the_past_and_live(tmp_path: Path) -> None:
    server = Server(tmp_path / "sse.db", tmp_path / "server.log", TASKROUTERX_SIMULATOR="off")
    try:
        client = server.client
        assert client.post("/api/v1/tenants", json={"name": "team-a"}).status_code == 201
        earlier = client.post("/api/v1/tasks", json={**TASK, "tenant": "team-a"}).json()
        client.post("/api/v1/tasks", json=TASK)  # the default tenant's
        mine = [
            (f["event"], f["data"]["stream_id"])
            for f in take(client, 3, tenant="team-a")
            if "id" in f
        ]
        assert mine == [
            ("TenantCreated", "tenant-team-a"),
            ("TaskQueued", f"task-{earlier['id']}"),
            ("WorkerAssigned", f"task-{earlier['id']}"),
        ], "read back from the database (older than what the shared reader holds)"
        head = client.get("/api/v1/events", params={"limit": 1}).json()["head"]
        live: list[dict[str, Any]] = []
        with client.stream("GET", "/api/v1/events/stream", params={"after": head,
                           "tenant": "team-a"}, timeout=30) as response:  # fmt: skip
            lines = response.iter_lines()
            client.post("/api/v1/tasks", json=TASK)
            later = client.post("/api/v1/tasks", json={**TASK, "tenant": "team-a"}).json()
            for frame in frames(lines):
                if "id" in frame:
                    live.append(frame)
                if any(f["event"] == "WorkerAssigned" for f in live):
                    break
        assert {f["data"]["stream_id"] for f in live} == {f"task-{later['id']}"}
        assert [f["event"] for f in live] == ["TaskQueued", "WorkerAssigned"]
    finally:
        server.stop()
