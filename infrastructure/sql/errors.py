"""Database failures a caller can do nothing about become StoreUnavailable (HTTP 503)."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from application.errors import StoreUnavailable


@contextmanager
def unavailable_on_failure() -> Iterator[None]:
    try:
        yield
    except OperationalError as error:
        raise StoreUnavailable(f"database unavailable: {error.orig}") from error
    except (sqlite3.OperationalError, psycopg.OperationalError) as error:
        raise StoreUnavailable(f"database unavailable: {error}") from error


@contextmanager
def connect(engine: Engine, transaction: bool = False) -> Iterator[Connection]:
    """A read connection (optionally one snapshot transaction) with failures translated."""
    with unavailable_on_failure(), engine.connect() as connection:
        if transaction:
            with connection.begin():
                yield connection
        else:
            yield connection


INTEGRITY_ERRORS = (sqlite3.IntegrityError, psycopg.IntegrityError)
"""A constraint refused a row, whichever database said it."""
