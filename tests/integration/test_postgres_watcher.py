"""Another node's commits reach this node's reactors: by LISTEN/NOTIFY, and by polling the
head when LISTEN is unavailable (as behind a transaction-pooling proxy)."""

import threading
import time
from typing import Any

import psycopg
import pytest

from application.commit_signal import CommitSignal
from application.messages import MessageContext, StreamWrite
from domain.events import PoolSlotClaimed
from infrastructure.replication.postgres_nodes import LogWatcher
from infrastructure.sql import migrate
from infrastructure.sql.engine import create_engines
from tests.sqlite_support import sql_store


class BehindAPooler(LogWatcher):
    def _listen(self, connection: psycopg.Connection[Any]) -> bool:
        return False


@pytest.mark.parametrize(
    ("watcher_kind", "poll_s"),
    [(LogWatcher, 30.0), (BehindAPooler, 0.2)],
    ids=["notify (polling too slow to matter)", "polling only"],
)
def test_commits_from_elsewhere_wake_this_node(
    postgres_url: str, watcher_kind: type, poll_s: float
) -> None:
    engines = create_engines(postgres_url)
    migrate.upgrade(engines.write)
    other_node = sql_store(engines)
    signal = CommitSignal()
    watcher = watcher_kind(postgres_url, signal, poll_s=poll_s)
    watcher.start()
    try:
        stop = threading.Event()
        deadline = time.monotonic() + 5
        while watcher_kind is LogWatcher and not watcher.listening:
            assert time.monotonic() < deadline, "the watcher never listened"
            time.sleep(0.02)
        for expected in (1, 2, 3):
            other_node.append(
                [StreamWrite("pool-x", expected - 1, [PoolSlotClaimed("x", f"t{expected}")])],
                MessageContext("elsewhere"),
            )
            assert signal.wait_beyond(expected - 1, stop, timeout=5), "the commit was not heard"
        assert watcher.listening is (watcher_kind is LogWatcher)
    finally:
        watcher.stop()
        other_node.close()
        engines.dispose()
