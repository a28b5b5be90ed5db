"""The event store's write connection: opened once, its transactions driven through the
DB-API.

The store commits thousands of transactions a second, and SQLAlchemy's checkout, `begin`
events and commit cost about 160 µs of Python per transaction, more than the insert. On
SQLite the store therefore keeps one connection of its own (configured by the engine's
connect hook: WAL, `synchronous`, busy timeout), detached from the pool, and issues
BEGIN IMMEDIATE and COMMIT itself. On PostgreSQL a transaction goes through the engine
and first takes the events table in EXCLUSIVE mode (readers go on; appenders queue).

A lock makes the connection safe to share: in the server only the single writer appends,
and tests or the CLI may append from another thread.
"""

import functools
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

from sqlalchemy import Engine

from infrastructure.sql.db import Db, Sql, SqliteDb, db_of, pragma, sql
from infrastructure.sql.engine import BEGIN_IMMEDIATE
from infrastructure.sql.errors import unavailable_on_failure

LOCK_EVENTS = sql("LOCK TABLE events IN EXCLUSIVE MODE")
COMMIT = sql("COMMIT")
ROLLBACK = sql("ROLLBACK")
BUSY_TIMEOUT = sql("PRAGMA busy_timeout")
WAIT_STEP_MS = 50


class WriteConnection:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._busy_timeout_ms: int | None = None
        """The connection's configured busy timeout (SQLite), read when it opens."""
        self._current_wait_ms: int | None = None
        self._own = engine.dialect.name == "sqlite"
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    @contextmanager
    def transaction(self, wait_s: float | None = None) -> Iterator[Db]:
        """One write transaction: committed when the block ends, rolled back if it raises.
        It waits at most `wait_s` for the write lock (the busy timeout when None on
        SQLite; on PostgreSQL, as long as it takes when None)."""
        if not self._own:
            with unavailable_on_failure(), self._engine.begin() as pooled:
                db = db_of(pooled)
                # Positions are allocated as MAX + 1: one appender at a time, so a reader
                # following the log never sees position N+1 before N has committed.
                db.execute(
                    LOCK_EVENTS if wait_s is None else _lock_events_within(_stepped_ms(wait_s))
                )
                yield db
            return
        with self._lock, unavailable_on_failure():
            connection = self._connection or self._open()
            db = SqliteDb(connection)
            self._wait_at_most(db, wait_s)
            db.execute(BEGIN_IMMEDIATE)
            try:
                yield db
            except BaseException:
                _roll_back(connection)
                raise
            try:
                db.execute(COMMIT)
            except BaseException:
                # A failed COMMIT (disk full, I/O error) may leave the transaction open:
                # end it, so nothing half-written stays and the next one can begin.
                _roll_back(connection)
                raise

    def _wait_at_most(self, db: Db, wait_s: float | None) -> None:
        """Set the busy timeout for the next BEGIN (the configured one when None), in
        steps of WAIT_STEP_MS: under load every batch has a slightly different time left,
        and a PRAGMA per transaction cost the writer 5% of its time."""
        wanted = self._busy_timeout_ms if wait_s is None else _stepped_ms(wait_s)
        if wanted is not None and wanted != self._current_wait_ms:
            db.execute(pragma("busy_timeout", wanted))
            self._current_wait_ms = wanted

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _open(self) -> sqlite3.Connection:
        pooled = self._engine.raw_connection()
        connection = cast(sqlite3.Connection, pooled.driver_connection)
        pooled.detach()
        self._connection = connection
        self._busy_timeout_ms = int(SqliteDb(connection).execute(BUSY_TIMEOUT).fetchone()[0])
        self._current_wait_ms = self._busy_timeout_ms
        return connection


def _ms(seconds: float) -> int:
    """A wait in whole milliseconds, at least one (0 would mean no wait, or none at all)."""
    return max(1, int(seconds * 1000))


@functools.cache
def _lock_events_within(ms: int) -> Sql:
    """PostgreSQL: LOCK_EVENTS, waiting at most `ms` for the lock; one round trip (a
    statement of two, sent without parameters)."""
    return sql(f"SET LOCAL lock_timeout = {int(ms)}; LOCK TABLE events IN EXCLUSIVE MODE")


def _stepped_ms(seconds: float) -> int:
    """A wait in whole milliseconds, rounded down to a step once it is longer than one."""
    wanted = _ms(seconds)
    return wanted if wanted < WAIT_STEP_MS else wanted // WAIT_STEP_MS * WAIT_STEP_MS


def _roll_back(connection: sqlite3.Connection) -> None:
    if connection.in_transaction:
        SqliteDb(connection).execute(ROLLBACK)
