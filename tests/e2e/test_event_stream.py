"""The live event log over Server-Sent Events from the real server: ids are log positions,
a reconnect with Last-Event-ID resumes with nothing lost or repeated, new commits arrive
without polling, and a quiet stream is kept alive with pings."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

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

        quiet = take(client, 1, after=10**6, ping_s=1)
        assert quiet[0] == {"retry": "1000"}, "the client is told how soon to reconnect"
        assert [f.get("comment") for f in quiet[1:]] == ["ping"]
        typed = [f for f in take(client, 2, type="TaskQueued", ping_s=1) if "id" in f]
        assert [f["event"] for f in typed] == ["TaskQueued"] * len(typed)
        refused = client.get("/api/v1/events/stream", headers={"Last-Event-ID": "x"})
        assert refused.status_code == 422
        assert client.get("/api/v1/health").status_code == 200, "the server survived it all"
    finally:
        server.stop()
