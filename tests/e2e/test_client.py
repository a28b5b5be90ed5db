"""The typed client against the real server over the network: waiting for a task through
the event stream, until it completes or is cancelled, and a time limit."""

from pathlib import Path

import pytest

from interfaces.client import Client
from tests.e2e.support import Server


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
