"""The one way the SQL modules talk to a database: DB-API statements (`Sql`) run on a `Db`.

Every statement is written once, in SQLite's spelling (`?` for a positional parameter,
`:name` for a named one), and `sql()` renders it for both drivers when it is defined:
SQLite's form is the text as written; psycopg's has `%s` and `%(name)s`, with a literal `%`
doubled. The text is parsed, not pattern-matched: a `?` or `:` inside a quoted string, a
quoted name or a comment stays text, and `::` (a PostgreSQL cast) is not a parameter.
Executing a statement picks its connection's form; no SQL is rewritten per call.

SQLAlchemy opens, pools and configures the connections, and Alembic (with the table
definitions in `schema.py`) owns the schema; statements bypass SQLAlchemy's expression layer,
which costs 3 to 12 times the statement itself (`python -m tests.benchmarks --only sql`:
a point read 5.9 µs as `Sql`, 69 µs as Core; docs/performance.md).
"""

import functools
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, NamedTuple, Protocol

import orjson
from sqlalchemy import Connection, Engine

from infrastructure.sql.errors import unavailable_on_failure

Parameters = Sequence[Any] | Mapping[str, Any]


class Sql(NamedTuple):
    """A statement in each driver's placeholder style (make one with `sql()`)."""

    sqlite: str
    postgres: str
    has_parameters: bool


def sql(text: str) -> Sql:
    """The statement `text` (SQLite's placeholders) rendered for SQLite and for psycopg.
    ValueError if a quote or comment is left open."""
    rendered: list[str] = []
    has_parameters = False
    index, end = 0, len(text)
    while index < end:
        char = text[index]
        if char in "'\"":
            close = text.find(char, index + 1)
            if close < 0:
                raise ValueError(f"unterminated {char} in SQL: {text!r}")
            rendered.append(text[index : close + 1].replace("%", "%%"))
            index = close + 1
        elif text.startswith("--", index) or text.startswith("/*", index):
            close = text.find("\n" if char == "-" else "*/", index + 2)
            if close < 0 and char == "/":
                raise ValueError(f"unterminated comment in SQL: {text!r}")
            close = end if close < 0 else close + (1 if char == "-" else 2)
            rendered.append(text[index:close].replace("%", "%%"))
            index = close
        elif char == "?":
            rendered.append("%s")
            has_parameters = True
            index += 1
        elif char == ":" and text.startswith("::", index):
            rendered.append("::")
            index += 2
        elif char == ":" and _name_starts(text, index + 1) and not _in_word(text, index):
            stop = index + 1
            while stop < end and (text[stop].isalnum() or text[stop] == "_"):
                stop += 1
            rendered.append(f"%({text[index + 1 : stop]})s")
            has_parameters = True
            index = stop
        else:
            rendered.append("%%" if char == "%" else char)
            index += 1
    return Sql(text, "".join(rendered) if has_parameters else text, has_parameters)


def _name_starts(text: str, index: int) -> bool:
    return index < len(text) and (text[index].isalpha() or text[index] == "_")


def _in_word(text: str, index: int) -> bool:
    return index > 0 and (text[index - 1].isalnum() or text[index - 1] == "_")


def pragma(name: str, value: int | str) -> Sql:
    """A SQLite PRAGMA setting: PRAGMAs take no parameters, so the value, a number or a
    single word, is written into the statement."""
    if not str(value).isalnum():
        raise ValueError(f"a PRAGMA value is a number or a word, not {value!r}")
    return sql(f"PRAGMA {name} = {value}")


@functools.cache
def marks(count: int) -> str:
    """`?, ?, ...`: `count` positional placeholders, for an IN list or a VALUES row."""
    return ", ".join("?" * count)


class Cursor(Protocol):
    @property
    def description(self) -> Any: ...

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def fetchmany(self, size: int = ..., /) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Db(Protocol):
    """A connection inside its open transaction (or autocommitting), running statements."""

    on_postgres: bool

    def execute(self, statement: Sql, parameters: Parameters = (), /) -> Cursor: ...

    def executemany(self, statement: Sql, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...

    def pipeline(self) -> AbstractContextManager[None]:
        """Statements in this block go to the server without waiting for each answer:
        a result is waited for only when fetched, and all of them as the block ends,
        where a statement's error is raised (PostgreSQL; SQLite runs in process)."""
        ...


class SqliteDb:
    __slots__ = ("_connection",)
    on_postgres = False

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def execute(self, statement: Sql, parameters: Parameters = (), /) -> Cursor:
        return self._connection.execute(statement.sqlite, parameters)

    def executemany(self, statement: Sql, parameters: Iterable[Sequence[Any]], /) -> Cursor:
        return self._connection.executemany(statement.sqlite, parameters)

    def pipeline(self) -> AbstractContextManager[None]:
        return nullcontext()


class PostgresDb:
    __slots__ = ("_connection",)
    on_postgres = True

    def __init__(self, connection: Any) -> None:
        """`connection`: a psycopg 3 connection."""
        self._connection = connection

    def execute(self, statement: Sql, parameters: Parameters = (), /) -> Cursor:
        cursor = self._connection.cursor()
        # Without parameters psycopg sends the text as it is (no %% to undo).
        cursor.execute(statement.postgres, parameters if statement.has_parameters else None)
        return cursor  # type: ignore[no-any-return]

    def executemany(self, statement: Sql, parameters: Iterable[Sequence[Any]], /) -> Cursor:
        cursor = self._connection.cursor()
        cursor.executemany(statement.postgres, parameters)
        return cursor  # type: ignore[no-any-return]

    @contextmanager
    def pipeline(self) -> Iterator[None]:
        with self._connection.pipeline():
            yield


def insert_many(
    db: Db, table: str, columns: tuple[str, ...], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert rows (values in `columns` order). On PostgreSQL one statement takes them
    all as one JSON array (`_from_json`): executemany's per-row work in psycopg had been
    a tenth of the writer process's time."""
    if db.on_postgres:
        db.execute(insert_from_json(table, columns), (as_json(columns, rows),))
    else:
        db.executemany(insert_into(table, columns), rows)


def update_many(
    db: Db, table: str, columns: tuple[str, ...], key: str, rows: Sequence[Sequence[Any]]
) -> None:
    """Set `columns` of the row whose `key` is each row's last value (its values first, in
    `columns` order); on PostgreSQL in one statement, as `insert_many`."""
    if db.on_postgres:
        db.execute(_update_from_json(table, columns, key), (as_json((*columns, key), rows),))
    else:
        db.executemany(_update(table, columns, key), rows)


KEYS_PER_READ = 500
"""Keys one `select_by_keys` statement asks for at most (SQLite's bound parameters)."""


def select_by_keys(
    db: Db, table: str, columns: tuple[str, ...], key: str, keys: Sequence[Any]
) -> Iterator[tuple[Any, ...]]:
    """The rows (`key`, then `columns`) whose `key` is one of `keys`, in as few
    statements as the keys allow (one per key had been a round trip each)."""
    for start in range(0, len(keys), KEYS_PER_READ):
        chunk = keys[start : start + KEYS_PER_READ]
        yield from db.execute(_select_in(table, columns, key, len(chunk)), chunk)


@functools.cache
def _select_in(table: str, columns: tuple[str, ...], key: str, count: int) -> Sql:
    return sql(f"SELECT {key}, {', '.join(columns)} FROM {table} WHERE {key} IN ({marks(count)})")


def _from_json(table: str, columns: tuple[str, ...]) -> str:
    """PostgreSQL: SELECT `columns` from the rows of a JSON array of objects (a parameter),
    typed as `table`'s columns: one statement text whatever the count, prepared once."""
    return f"SELECT {', '.join(columns)} FROM json_populate_recordset(NULL::{table}, ?::json)"


def as_json(columns: tuple[str, ...], rows: Sequence[Sequence[Any]]) -> str:
    """Rows as `_from_json` takes them."""
    return orjson.dumps([dict(zip(columns, row, strict=True)) for row in rows]).decode()


@functools.cache
def insert_into(table: str, columns: tuple[str, ...]) -> Sql:
    """One row's INSERT, its values in `columns` order."""
    return sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks(len(columns))})")


@functools.cache
def insert_from_json(table: str, columns: tuple[str, ...], suffix: str = "") -> Sql:
    """PostgreSQL: the INSERT of `as_json` rows (then `suffix`, such as an ON CONFLICT)."""
    return sql(f"INSERT INTO {table} ({', '.join(columns)}) {_from_json(table, columns)}{suffix}")


@functools.cache
def _update(table: str, columns: tuple[str, ...], key: str) -> Sql:
    assigned = ", ".join(f"{name} = ?" for name in columns)
    return sql(f"UPDATE {table} SET {assigned} WHERE {key} = ?")


@functools.cache
def _update_from_json(table: str, columns: tuple[str, ...], key: str) -> Sql:
    assigned = ", ".join(f"{name} = r.{name}" for name in columns)
    return sql(
        f"UPDATE {table} SET {assigned} FROM ({_from_json(table, (*columns, key))}) AS r "
        f"WHERE {table}.{key} = r.{key}"
    )


def db_of(connection: Connection) -> Db:
    """The DB-API connection under a SQLAlchemy one, inside its open transaction."""
    driver = connection.connection.driver_connection
    assert driver is not None
    if connection.dialect.name == "postgresql":
        return PostgresDb(driver)
    return SqliteDb(driver)


@contextmanager
def reading(engine: Engine, transaction: bool = False) -> Iterator[Db]:
    """A read connection (optionally one snapshot transaction), failures translated to
    StoreUnavailable. The snapshot: SQLite's read transactions have one already (a WAL
    reader keeps the database as its first read found it); PostgreSQL's default (READ
    COMMITTED) takes a new one for every statement, so the transaction is REPEATABLE READ
    (read-only, it never fails to serialize)."""
    with unavailable_on_failure(), engine.connect() as connection:
        if transaction:
            if connection.dialect.name == "postgresql":
                connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                yield db_of(connection)
        else:
            yield db_of(connection)


@contextmanager
def writing(engine: Engine) -> Iterator[Db]:
    """One write transaction on a pooled connection: committed when the block ends."""
    with engine.begin() as connection:
        yield db_of(connection)


def mappings(cursor: Cursor) -> list[dict[str, Any]]:
    """The cursor's rows as dicts keyed by column name."""
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]
