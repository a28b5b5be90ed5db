"""Requests that read the whole log are bounded: one at a time, each answered within
HEAVY_REQUEST_S, with a 503 pointing to the CLI otherwise."""

import asyncio
import threading

import pytest

from application.errors import ServiceOverloaded
from interfaces.http.heavy_requests import Abandoned, HeavyRequests
from tests.api.conftest import TASK, ClientFactory


def test_a_replay_that_outruns_its_budget_is_a_503_pointing_to_the_cli(
    make_client: ClientFactory,
) -> None:
    client = make_client(scheduler="off", heavy_request_s=0.001)
    for _ in range(100):
        client.post("/api/v1/tasks", json=TASK)
    replay = client.post("/api/v1/replays", json={"algorithm": "min_cost"})
    assert replay.status_code == 503
    assert replay.headers["content-type"] == "application/problem+json"
    assert replay.headers["retry-after"]
    assert "taskrouterx replay whatif" in replay.json()["detail"]


def test_one_whole_log_request_at_a_time_and_work_past_its_budget_is_told_to_stop() -> None:
    heavy = HeavyRequests(budget_s=0.2)
    started, stopped = threading.Event(), threading.Event()

    def slow(stop: threading.Event) -> str:
        started.set()
        if stop.wait(10):
            stopped.set()
            raise Abandoned
        return "finished"

    async def scenario() -> None:
        first = asyncio.ensure_future(heavy.run(slow, "taskrouterx audit verify"))
        await asyncio.to_thread(started.wait, 10)
        with pytest.raises(ServiceOverloaded, match="another whole-log request"):
            await heavy.run(lambda stop: "quick", "taskrouterx audit verify")
        with pytest.raises(ServiceOverloaded, match=r"within 0\.2 s"):
            await first
        await asyncio.to_thread(stopped.wait, 10)
        assert stopped.is_set(), "the abandoned work was told to stop"
        for _ in range(100):  # the abandoned work's thread gives the slot back as it ends
            try:
                assert await heavy.run(lambda stop: "quick", "cli") == "quick"
                return
            except ServiceOverloaded:
                await asyncio.sleep(0.05)
        raise AssertionError("the slot never came back")

    asyncio.run(scenario())
