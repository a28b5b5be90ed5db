"""Several nodes on one PostgreSQL: hearing each other's commits, and electing the one
node that schedules.

`LogWatcher` relays commits made by any node to this node's CommitSignal. Appends NOTIFY
the channel inside their transaction, so the notification arrives only after the commit;
the watcher LISTENs and also polls the log head every `poll_s`, so it keeps working behind
a pooler that does not pass LISTEN through, and after a dropped connection.

`Leadership` runs the given reactors (scheduler, simulated workers) only while this node
holds a session-level advisory lock. A node that dies loses its connection and the lock
with it; another node takes the lock within `retry_s`, restores the reactors' state from
the log and carries on. Two schedulers overlapping briefly could not over-fill a pool:
the assignment appends to the task and the pool with expected versions.
"""

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import psycopg
import structlog
from sqlalchemy.engine import make_url

from application.commit_signal import CommitSignal
from infrastructure.sql.db import PostgresDb, sql
from infrastructure.sql.event_store import NOTIFY_CHANNEL
from infrastructure.sql.stored_events import HEAD

log = structlog.get_logger(__name__)

CHANNEL = NOTIFY_CHANNEL
LISTEN = sql(f"LISTEN {CHANNEL}")
LEADER_LOCK = 7_251_014_301
"""The advisory lock key whose holder schedules."""


def dsn(sqlalchemy_url: str) -> str:
    """A libpq connection string from the SQLAlchemy URL."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class LogWatcher:
    def __init__(self, url: str, signal: CommitSignal, poll_s: float = 0.5) -> None:
        self._dsn = dsn(url)
        self._signal = signal
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = False

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="log-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True) as connection:
                    self._watch(connection)
            except psycopg.Error as error:
                self.listening = False
                log.warning("log_watcher.reconnecting", error=str(error))
                self._stop.wait(self._poll_s)

    def _listen(self, connection: psycopg.Connection[Any]) -> bool:
        try:
            PostgresDb(connection).execute(LISTEN)
            return True
        except psycopg.Error:
            return False  # e.g. a transaction-pooling proxy: poll only

    def _watch(self, connection: psycopg.Connection[Any]) -> None:
        self.listening = self._listen(connection)
        tick = min(self._poll_s, 0.5)  # how soon stop() is noticed
        polled = 0.0
        while not self._stop.is_set():
            if self.listening:
                for notice in connection.notifies(timeout=tick, stop_after=64):
                    self._signal.publish(int(notice.payload))
            else:
                self._stop.wait(tick)
            if time.monotonic() - polled >= self._poll_s:
                head = PostgresDb(connection).execute(HEAD)
                self._signal.publish(int(head.fetchone()[0]))
                polled = time.monotonic()


HOLDER = sql(
    "SELECT a.application_name, host(a.client_addr) FROM pg_locks l "
    "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
    "AND l.objsubid = 1 AND ((l.classid::bigint << 32) | l.objid::bigint) = ? "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
"""The node holding this database's leader lock: advisory locks are per database, and
another deployment on the same server holds its own."""
TRY_LOCK = sql("SELECT pg_try_advisory_lock(?)")
STILL_CONNECTED = sql("SELECT 1")


def _holder(connection: psycopg.Connection[Any]) -> str | None:
    """The node holding the leader's lock: its name, or its address if it gave none."""
    row = PostgresDb(connection).execute(HOLDER, (LEADER_LOCK,)).fetchone()
    if row is None:
        return None
    name, address = row
    if name and name.startswith("taskrouterx ") and name != "taskrouterx ":
        return str(name).removeprefix("taskrouterx ")
    return None if address is None else str(address)


def current_leader(url: str) -> str | None:
    """Which node schedules now (None: none does), asked of the database."""
    with psycopg.connect(dsn(url), autocommit=True) as connection:
        return _holder(connection)


class Reactive(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


class Leadership:
    def __init__(
        self,
        url: str,
        reactors: Sequence[Reactive],
        retry_s: float = 1.0,
        on_change: Callable[[bool], None] = lambda leading: None,
        node: str = "",
    ) -> None:
        """`node` names this node to the others (its host and port): the leader's
        session carries it, so a standby can say who leads."""
        self._dsn = dsn(url)
        self.node = node
        self.leader_node: str | None = None
        """The node holding the lock, as far as this one last saw (itself when leading)."""
        self._reactors = reactors
        self._retry_s = retry_s
        self._on_change = on_change
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.leading = False

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="leadership", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(
                    self._dsn, autocommit=True, application_name=f"taskrouterx {self.node}"[:63]
                ) as connection:
                    self._campaign(connection)
            except psycopg.Error as error:
                log.warning("leadership.connection_lost", error=str(error))
            finally:
                self._step_down()
            self._stop.wait(self._retry_s)

    def _campaign(self, connection: psycopg.Connection[Any]) -> None:
        while not self._stop.is_set():
            if not self.leading:
                won = PostgresDb(connection).execute(TRY_LOCK, (LEADER_LOCK,))
                if won.fetchone()[0]:
                    self._lead()
                else:
                    self.leader_node = _holder(connection)
            else:
                # Still connected, so still holding the lock.
                PostgresDb(connection).execute(STILL_CONNECTED)
            self._stop.wait(self._retry_s)

    def _lead(self) -> None:
        log.info("leadership.acquired", node=self.node)
        self.leading = True
        self.leader_node = self.node
        for reactor in self._reactors:
            reactor.start()
        self._on_change(True)

    def _step_down(self) -> None:
        if not self.leading:
            return
        for reactor in reversed(self._reactors):
            reactor.stop()
        self.leading = False
        self._on_change(False)
        log.info("leadership.released")
