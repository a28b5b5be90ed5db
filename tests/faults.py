"""Write faults injected into the real store: its commits fail, N in a row, the way the
database makes them fail. On SQLite the COMMIT raises SQLite's own error (a full disk, an
I/O error) and the store rolls back; on PostgreSQL the write connection's server process is
terminated just before its COMMIT, so the commit meets a lost connection."""

import sqlite3
import threading
from typing import Any

import psycopg
import pytest
from sqlalchemy import event

from infrastructure.bootstrap import TaskRouter
from infrastructure.sql import write_connection


class CommitFaults:
    def __init__(self, error: str = "disk I/O error") -> None:
        self._error = error
        self._lock = threading.Lock()
        self._pending = 0
        self._spared = 0
        self.injected = 0

    def arm(self, failures: int, after: int = 0) -> None:
        """Let `after` commits through, then make the next `failures` fail."""
        with self._lock:
            self._spared, self._pending = after, failures

    @property
    def armed(self) -> bool:
        return self._pending > 0

    def disarm(self) -> None:
        """Fail no more commits (a round whose work was done before it was armed)."""
        with self._lock:
            self._spared = self._pending = 0

    def take(self) -> bool:
        """Called at each commit: True if this one must fail."""
        with self._lock:
            if self._spared > 0:
                self._spared -= 1
                return False
            if self._pending <= 0:
                return False
            self._pending -= 1
            self.injected += 1
            return True

    def install(self, router: TaskRouter, monkeypatch: pytest.MonkeyPatch) -> None:
        if router.engines.write.dialect.name == "sqlite":
            self.install_on_sqlite(monkeypatch)
        else:
            self._install_on_postgres(router)

    def install_on_sqlite(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Every SQLite write connection opened from now on commits through the faults."""
        opened = write_connection.WriteConnection._open
        faults = self

        def open_faulty(self: write_connection.WriteConnection) -> Any:
            connection = _FaultyCommits(opened(self), faults)
            self._connection = connection  # type: ignore[assignment]
            return connection

        monkeypatch.setattr(write_connection.WriteConnection, "_open", open_faulty)

    def _install_on_postgres(self, router: TaskRouter) -> None:
        url = router.engines.write.url.set(drivername="postgresql")
        admin = url.render_as_string(hide_password=False)

        @event.listens_for(router.engines.write, "commit")
        def _before_commit(connection: Any) -> None:
            if not self.take():
                return
            pid = connection.connection.driver_connection.info.backend_pid
            with psycopg.connect(admin, autocommit=True) as killer:
                killer.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))


class _FaultyCommits:
    """A SQLite connection whose COMMIT fails when the faults say so."""

    def __init__(self, connection: sqlite3.Connection, faults: CommitFaults) -> None:
        self._connection = connection
        self._faults = faults

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "COMMIT" and self._faults.take():
            raise sqlite3.OperationalError(self._faults._error)
        return self._connection.execute(sql, *args)

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        return self._connection.executemany(sql, rows)

    @property
    def in_transaction(self) -> bool:
        return self._connection.in_transaction

    def close(self) -> None:
        self._connection.close()
