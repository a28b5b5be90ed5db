"""Statements are written once and rendered for each driver when they are defined: what
each driver receives, and that both databases run the same statement alike."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from infrastructure.replication.postgres_nodes import dsn
from infrastructure.sql.db import Db, PostgresDb, SqliteDb, pragma, sql
from tests.postgres_support import fresh_database


def test_placeholders_are_rendered_for_psycopg() -> None:
    statement = sql("SELECT a FROM t WHERE b = ? AND c = :name AND d = :other_2")
    assert statement.sqlite == "SELECT a FROM t WHERE b = ? AND c = :name AND d = :other_2"
    assert statement.postgres == "SELECT a FROM t WHERE b = %s AND c = %(name)s AND d = %(other_2)s"


def test_quoted_text_comments_and_casts_are_not_parameters() -> None:
    statement = sql(
        "SELECT 'a ? b :c', \"odd:name?\", x::bigint -- what? :no\n"
        "FROM t /* really? :no */ WHERE y = ?"
    )
    assert statement.postgres == (
        "SELECT 'a ? b :c', \"odd:name?\", x::bigint -- what? :no\n"
        "FROM t /* really? :no */ WHERE y = %s"
    )


def test_a_percent_sign_is_doubled_only_where_psycopg_reads_placeholders() -> None:
    with_parameters = sql("SELECT x FROM t WHERE name LIKE '%pool' AND y = ? AND z % 2 = 0")
    assert with_parameters.postgres == (
        "SELECT x FROM t WHERE name LIKE '%%pool' AND y = %s AND z %% 2 = 0"
    )
    without = sql("SELECT x FROM t WHERE name LIKE '%pool'")
    assert without.postgres == without.sqlite


@pytest.mark.parametrize("text", ["SELECT 'open", 'SELECT "open', "SELECT 1 /* open"])
def test_an_unterminated_quote_or_comment_is_refused_when_defined(text: str) -> None:
    with pytest.raises(ValueError, match="unterminated"):
        sql(text)


def test_a_pragma_value_cannot_carry_more_sql() -> None:
    assert pragma("busy_timeout", 50).sqlite == "PRAGMA busy_timeout = 50"
    with pytest.raises(ValueError, match="a number or a word"):
        pragma("synchronous", "FULL; DROP TABLE events")


@contextmanager
def sqlite_db() -> Iterator[Db]:
    connection = sqlite3.connect(":memory:")
    try:
        yield SqliteDb(connection)
    finally:
        connection.close()


@contextmanager
def postgres_db() -> Iterator[Db]:
    with fresh_database() as url, psycopg.connect(dsn(url), autocommit=True) as connection:
        yield PostgresDb(connection)


@pytest.mark.parametrize("opened", [sqlite_db, postgres_db], ids=["sqlite", "postgresql"])
def test_one_statement_runs_alike_on_both_databases(opened: object) -> None:
    with opened() as db:  # type: ignore[operator]
        db.execute(sql("CREATE TABLE pools (name TEXT, capacity INTEGER)"))
        db.executemany(
            sql("INSERT INTO pools (name, capacity) VALUES (?, ?)"),
            [("eu-west-cpu", 4), ("us-east-gpu", 2), ("what? :not-a-name %", 1)],
        )
        found = db.execute(
            sql(
                "SELECT name, capacity * 10 % 7 FROM pools "
                "WHERE name LIKE '%-%' AND capacity >= :least ORDER BY name"
            ),
            {"least": 2},
        ).fetchall()
        assert [tuple(row) for row in found] == [("eu-west-cpu", 5), ("us-east-gpu", 6)]
        literal = db.execute(sql("SELECT name FROM pools WHERE name = 'what? :not-a-name %'"))
        assert [tuple(row) for row in literal.fetchall()] == [("what? :not-a-name %",)]
