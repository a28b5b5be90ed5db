"""Database failures a caller can do nothing about become StoreUnavailable (HTTP 503)."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
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


INTEGRITY_ERRORS = (sqlite3.IntegrityError, psycopg.IntegrityError)
"""A constraint refused a row, whichever database said it."""
