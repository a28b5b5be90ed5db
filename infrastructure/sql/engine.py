"""Engines for the configured database. On SQLite: WAL (kept to WAL_LIMIT once it is
checkpointed), the configured `synchronous` level, a busy timeout, BEGIN IMMEDIATE for
write transactions, and incremental auto-vacuum for a database it creates."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from infrastructure.sql.db import Sql, SqliteDb, pragma, sql

BEGIN = sql("BEGIN")
BEGIN_IMMEDIATE = sql("BEGIN IMMEDIATE")
PAGE_COUNT = sql("PRAGMA page_count")
WAL_LIMIT = 8 * 1024 * 1024
"""Bytes the write-ahead log file keeps after a checkpoint empties it. It grows past its
usual ~4 MB while a long read (an archive run, a rebuild) holds back the checkpoint;
without a limit SQLite keeps the file at that high-water mark for good."""


@dataclass(frozen=True)
class Engines:
    write: Engine
    read: Engine

    def dispose(self) -> None:
        self.write.dispose()
        self.read.dispose()


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engines(url: str, synchronous: str = "FULL", busy_timeout_ms: int = 5000) -> Engines:
    if not is_sqlite(url):
        return Engines(create_engine(url), create_engine(url))
    return Engines(
        _sqlite_engine(url, BEGIN_IMMEDIATE, synchronous, busy_timeout_ms),
        _sqlite_engine(url, BEGIN, synchronous, busy_timeout_ms),
    )


def _sqlite_engine(url: str, begin: Sql, synchronous: str, busy_timeout_ms: int) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        db = SqliteDb(dbapi_connection)
        if db.execute(PAGE_COUNT).fetchone()[0] == 0:
            # a new, empty database: its file can then give back the pages of archived
            # events (see infrastructure.archive.retention); on one that has tables the
            # setting would only wait for the write lock, and change nothing
            db.execute(pragma("auto_vacuum", "INCREMENTAL"))
        db.execute(pragma("journal_mode", "WAL"))
        db.execute(pragma("journal_size_limit", WAL_LIMIT))
        db.execute(pragma("synchronous", synchronous))
        db.execute(pragma("busy_timeout", int(busy_timeout_ms)))

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        SqliteDb(connection.connection.driver_connection).execute(begin)

    return engine
