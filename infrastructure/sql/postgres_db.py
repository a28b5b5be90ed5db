"""The DB-API surface the SQL modules use, on a psycopg 3 connection.

The write path and the projections speak DB-API SQL written for SQLite's `?` and `:name`
placeholders; psycopg takes `%s` and `%(name)s`. Statements are translated once each
(cached), which the statements allow: none of them holds a `?`, a `:` or a `%` inside a
literal."""

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import psycopg

NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    return NAMED.sub(r"%(\1)s", sql.replace("%", "%%").replace("?", "%s"))


class PostgresDb:
    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self._connection = connection

    def execute(
        self, sql: str, parameters: Sequence[Any] | Mapping[str, Any] = (), /
    ) -> psycopg.Cursor[Any]:
        cursor = self._connection.cursor()
        cursor.execute(translate(sql), parameters or None)
        return cursor

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> psycopg.Cursor[Any]:
        cursor = self._connection.cursor()
        cursor.executemany(translate(sql), parameters)
        return cursor
