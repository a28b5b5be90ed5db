"""Event streams against the real server: open streams are capped in all (503) and per API
key (429), a slot comes back when its client goes, and opening and closing 200 streams ten
times over does not ratchet the server's memory."""

import asyncio
import hashlib
import json
from pathlib import Path

import httpx

from tests.e2e.support import Server

TASK = {"type": "order", "priority": 5, "cost": 1, "region": "us-east"}


def rss_kb(server: Server) -> int:
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1])


async def open_streams(
    server: Server, count: int, headers: str = "", after: int = 0
) -> list[asyncio.StreamWriter]:
    """`count` streams from `after`, each having read its first bytes."""
    writers = []
    readers = []
    for _ in range(count):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            f"GET /api/v1/events/stream?after={after} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"{headers}\r\n".encode()
        )
        writers.append(writer)
        readers.append(reader)
    for reader in readers:
        assert (await asyncio.wait_for(reader.read(65536), 30)).startswith(b"HTTP/1.1 200")
    return writers


def test_opening_and_closing_200_streams_ten_times_does_not_ratchet_memory(
    tmp_path: Path,
) -> None:
    """Each cycle: 100 streams replaying the log from its start and 100 following its
    head, a new task streamed live to them, then every client gone (after one cycle to
    warm up: the thread pool's threads, the database connections). The log grows
    little from cycle to cycle, so what is measured is what the streams leave behind
    (a growing log grows SQLite's page caches, up to 2 MB per read connection)."""
    server = Server(tmp_path / "sse.db", tmp_path / "server.log", TASKROUTERX_SIMULATOR="off")
    for _ in range(100):
        assert server.client.post("/api/v1/tasks", json=TASK).status_code == 201

    async def cycles() -> list[int]:
        after_each = []
        async with httpx.AsyncClient(base_url=server.url) as client:
            for _ in range(1 + 10):  # a first cycle to warm up (threads, connections)
                head = (await client.get("/api/v1/events?limit=1")).json()["head"]
                writers = await open_streams(server, 100)
                writers += await open_streams(server, 100, after=head)
                assert (await client.post("/api/v1/tasks", json=TASK)).status_code == 201
                await asyncio.sleep(0.5)  # every stream gets the new events
                for writer in writers:
                    writer.close()
                await asyncio.sleep(0.5)
                after_each.append(rss_kb(server))
        return after_each

    try:
        after_each = asyncio.run(cycles())
        assert server.client.get("/api/v1/health").status_code == 200
    finally:
        server.stop()
    first, last = after_each[1], after_each[-1]
    assert last < first * 1.10, f"RSS after each cycle (KB): {after_each}"


def test_streams_past_the_caps_are_refused_and_slots_come_back(tmp_path: Path) -> None:
    key = "k-streams-0123456789"
    keys = [
        {"name": "reader", "sha256": hashlib.sha256(key.encode()).hexdigest(),
         "scopes": ["tasks:read"]},
        {"name": "other", "sha256": hashlib.sha256(b"k-other-0123456789").hexdigest(),
         "scopes": ["tasks:read"]},
    ]  # fmt: skip
    server = Server(
        tmp_path / "caps.db",
        tmp_path / "server.log",
        TASKROUTERX_SIMULATOR="off",
        TASKROUTERX_API_KEYS=json.dumps(keys),
        TASKROUTERX_MAX_STREAMS="6",
        TASKROUTERX_MAX_STREAMS_PER_KEY="4",
    )
    client = httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=10)
    other = httpx.Client(base_url=server.url, headers={"X-API-Key": "k-other-0123456789"})

    async def scenario() -> None:
        mine = await open_streams(server, 4, f"X-API-Key: {key}\r\n")
        per_key = client.get("/api/v1/events/stream")
        assert per_key.status_code == 429
        assert per_key.headers["content-type"] == "application/problem+json"
        assert "this API key" in per_key.json()["detail"]
        theirs = await open_streams(server, 2, "X-API-Key: k-other-0123456789\r\n")
        total = other.get("/api/v1/events/stream")
        assert total.status_code == 503
        assert total.headers["retry-after"]
        for writer in mine[:2]:
            writer.close()
        await asyncio.sleep(0.5)
        again = await open_streams(server, 2, f"X-API-Key: {key}\r\n")
        for writer in [*mine[2:], *theirs, *again]:
            writer.close()

    try:
        asyncio.run(scenario())
    finally:
        client.close()
        other.close()
        server.stop()
