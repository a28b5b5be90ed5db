"""The typed clients against the real server over the network: waiting for a task through
the event stream, until it completes or is cancelled, and a time limit; the async client's
calls; a submission sent again after a 503 (a locked database) and after its answer was
lost, made once either way."""

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from interfaces.client import AsyncClient, Client, ProblemError, leases
from interfaces.client.calls import Call
from tests.e2e.support import Server, wait_until


def test_waiting_for_tasks_through_the_event_stream(tmp_path: Path) -> None:
    server = Server(tmp_path / "client.db", tmp_path / "server.log")
    try:
        with Client(server.url) as router:
            task = router.submit("order", 5, 1.0, "us-east")
            done = router.wait(task["id"], timeout_s=30)
            assert done["status"] == "completed"
            assert router.wait(task["id"])["status"] == "completed"  # finished already
    finally:
        server.stop()


def test_waiting_ends_with_a_cancel_or_the_time_limit(tmp_path: Path) -> None:
    server = Server(tmp_path / "client.db", tmp_path / "server.log", TASKROUTERX_SIMULATOR="off")
    try:
        with Client(server.url) as router:
            stuck = router.submit("order", 5, 1.0, "us-east")
            with pytest.raises(TimeoutError, match="is still"):
                router.wait(stuck["id"], timeout_s=1.5)
            router.cancel(stuck["id"])
            assert router.wait(stuck["id"], timeout_s=10)["status"] == "cancelled"
    finally:
        server.stop()


def test_the_async_client_makes_the_same_calls(tmp_path: Path) -> None:
    server = Server(tmp_path / "client.db", tmp_path / "server.log")

    async def session() -> None:
        async with AsyncClient(server.url) as router:
            tasks = [await router.submit("order", 1 + n, 1.0, "us-east") for n in range(3)]
            done = await asyncio.gather(*(router.wait(t["id"], timeout_s=30) for t in tasks))
            assert [t["status"] for t in done] == ["completed"] * 3
            listed = [task["id"] async for task in router.tasks(page_size=2)]
            assert sorted(listed) == sorted(t["id"] for t in tasks)
            assert len(await router.pools()) == 8
            assert (await router.stats())["tasks_completed"] == 3
            with pytest.raises(ProblemError) as refused:
                await router.submit("order", 0, 1.0, "us-east")
            assert refused.value.status == 422

    try:
        asyncio.run(session())
    finally:
        server.stop()


def test_the_event_iterator_resumes_across_a_server_restart(tmp_path: Path) -> None:
    """Followed from a thread while the server stops and starts again on its port: every
    position once, in order, nothing lost."""
    database, output = tmp_path / "events.db", tmp_path / "server.log"
    server = Server(database, output, TASKROUTERX_SIMULATOR="off")
    got: list[tuple[int, str]] = []

    def follow() -> None:
        with Client(server.url) as router:
            for event in router.events():
                got.append((event.position, event.type))
                if event.type == "TenantCreated":
                    return

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    try:
        with Client(server.url) as router:
            router.submit("order", 5, 1.0, "us-east")
        server.stop()
        server = Server(database, output, port=server.port, TASKROUTERX_SIMULATOR="off")
        with Client(server.url) as router:
            router.submit("order", 5, 1.0, "us-east")
            router.run(Call("POST", "/tenants", json={"name": "last"}))
        follower.join(timeout=30)
        assert not follower.is_alive()
        positions = [position for position, _ in got]
        assert positions == list(range(1, positions[-1] + 1))  # each once, none lost
        assert got[-1][1] == "TenantCreated"
        assert sum(kind == "TaskQueued" for _, kind in got) == 2  # before and after
    finally:
        server.stop()


def test_a_submission_refused_with_503_while_the_database_is_locked_is_sent_again(
    tmp_path: Path,
) -> None:
    database = tmp_path / "locked.db"
    server = Server(database, tmp_path / "server.log", TASKROUTERX_BUSY_TIMEOUT_MS="500",
                    TASKROUTERX_SIMULATOR="off")  # fmt: skip
    holder = sqlite3.connect(database, isolation_level=None, timeout=10, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    unlock = threading.Timer(2.0, lambda: holder.execute("ROLLBACK"))
    waits: list[float] = []
    try:
        with Client(server.url, sleep=lambda s: (waits.append(s), time.sleep(s))[1]) as router:
            unlock.start()
            task = router.submit("order", 5, 1.0, "us-east")
            unlock.join()
            assert waits, "refused with 503 at least once"
            assert set(waits) == {1.0}, "each wait the 503's Retry-After"
            assert [each["id"] for each in router.tasks()] == [task["id"]], "made once"
    finally:
        unlock.cancel()
        holder.close()
        server.stop()


class DropsFirstAnswer(httpx.HTTPTransport):
    """Sends every request, but loses the answer to the first submission on the way back
    (as a proxy or a network cut would): the server has made the task."""

    def __init__(self) -> None:
        super().__init__()
        self.dropped = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method == "POST" and request.url.path == "/api/v1/tasks" and not self.dropped:
            response.read()
            self.dropped += 1
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


def test_a_submission_whose_answer_was_lost_is_sent_again_and_made_once(tmp_path: Path) -> None:
    server = Server(tmp_path / "dropped.db", tmp_path / "server.log", TASKROUTERX_SIMULATOR="off")
    transport = DropsFirstAnswer()
    try:
        with httpx.Client(base_url=server.url, transport=transport) as http:
            router = Client(http=http)
            task = router.submit("order", 5, 1.0, "us-east")
            assert transport.dropped == 1
            assert [each["id"] for each in router.tasks()] == [task["id"]], "made once"
    finally:
        server.stop()


def test_every_call_over_the_network(tmp_path: Path) -> None:
    """The calls the other tests here leave out, each once against the real server."""
    server = Server(tmp_path / "calls.db", tmp_path / "server.log", TASKROUTERX_SIMULATOR="off")
    try:
        with Client(server.url) as router:
            pool = router.register_pool("lab-gpu", "lab", "gpu", 2.5, 1, execution="external")
            assert router.set_capacity(pool["id"], 2)["capacity"] == 2
            assert router.drain(pool["id"])["draining"] is True
            assert router.resume(pool["id"])["draining"] is False
            assert router.switch_algorithm("min_cost") == "min_cost"
            task = router.submit("order", 5, 1.0, "lab", resource_type="gpu", max_attempts=1)
            wait_until(lambda: router.get(task["id"])["status"] == "processing")
            (decision,) = router.decisions(task["id"])
            assert decision["chosen_pool_id"] == pool["id"]
            assert router.timeline(task["id"])["states"][-1]["state"] == "processing"
            (leased,) = router.run(leases.lease(pool["id"], "w-1", max_tasks=5))
            beat = router.run(leases.heartbeat(task["id"], leased["lease"]["token"]))
            assert beat["cancel_requested"] is False
            router.run(leases.fail(task["id"], leased["lease"]["token"], "it went wrong"))
            assert router.retry(task["id"])["status"] == "delayed"
            assert router.verify()["ok"] is True
            job = router.start_verification()
            while (checked := router.verification(job["id"]))["status"] == "running":
                time.sleep(0.1)
            assert checked["report"]["ok"] is True
            assert router.what_if("priority")["algorithm"] == "priority"
            first = next(iter(router.events()))
            assert first.position == 1
    finally:
        server.stop()
