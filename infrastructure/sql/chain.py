"""Tamper evidence: every stored event carries a SHA-256 over its canonical content and
the hash of the event before it, a chain over global positions. Editing, deleting or
reordering a row by hand breaks the chain at that position; `verify` finds the first break.

The canonical content is the row's eleven stored values, in column order, as a JSON array
(orjson: no whitespace, fixed number and string forms), so any reader can recompute it.
A chain alone cannot show that its newest rows were cut off or that every hash after an edit
was rewritten: keep the head hash that `verify` reports somewhere else to compare against.
"""

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from application.audit.verify import ChainReport
from infrastructure.sql import stored_events
from infrastructure.sql.db import Db, sql

GENESIS = "0" * 64
"""The hash before the first event."""

ROW = ", ".join(stored_events.COLUMNS)
"""The chained columns, in order."""
TIP = sql("SELECT position, hash FROM events ORDER BY position DESC LIMIT 1")
CHAINED = sql(
    f"SELECT {ROW}, hash FROM events WHERE position > ? AND position <= ? ORDER BY position"
)


def link(previous: str, row: Sequence[Any]) -> str:
    """The hash of a row (its eleven stored values, in column order) after `previous`."""
    return hashlib.sha256(previous.encode() + orjson.dumps(list(row))).hexdigest()


def tip(db: Db) -> tuple[int, str]:
    """The newest position and its hash (0 and GENESIS on an empty log)."""
    row = db.execute(TIP).fetchone()
    return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))


def verify(
    db: Db,
    progress: Callable[[int], None] | None = None,
    chunk: int = 10_000,
    after: int = 0,
    previous: str = GENESIS,
    up_to: int | None = None,
) -> ChainReport:
    """Walk the log from position 1 (or from `after`, whose hash is `previous`) to the head
    (or `up_to`), recomputing every hash; stop at the first break. `checked` counts from
    position 1."""
    expected, checked = after + 1, after
    cursor = db.execute(CHAINED, (after, 2**62 if up_to is None else up_to))
    while rows := cursor.fetchmany(chunk):
        for row in rows:
            position, stored = row[0], row[-1]
            if position != expected:
                return ChainReport(checked, previous, expected, f"position {expected} is missing")
            recomputed = link(previous, row[:-1])
            if stored != recomputed:
                return ChainReport(
                    checked,
                    previous,
                    position,
                    f"event at position {position} does not match its hash "
                    "(altered, or moved from another position)",
                )
            previous, expected, checked = recomputed, expected + 1, checked + 1
        if progress is not None:
            progress(checked)
    return ChainReport(checked, previous, None, None)
