"""Tamper evidence: every stored event carries a SHA-256 over its canonical content and
the hash of the event before it, a chain over global positions. Editing, deleting or
reordering a row by hand breaks the chain at that position; verification walks it
(`application.audit.chain.ChainWalk`, with `link` as each row's hash).

The canonical content is the row's eleven stored values, in column order (`COLUMNS`), as a
JSON array (orjson: no whitespace, fixed number and string forms), so any reader can
recompute it. A chain alone cannot show that its newest rows were cut off or that every
hash after an edit was rewritten: keep the head hash that verification reports somewhere
else to compare against.
"""

import hashlib
from collections.abc import Sequence
from typing import Any

import orjson

from application.audit.chain import GENESIS
from infrastructure.sql.db import Db, sql

__all__ = ["COLUMNS", "GENESIS", "ROW", "link", "tip"]

COLUMNS = (
    "position", "stream_id", "version", "type", "schema_version", "payload", "event_id",
    "correlation_id", "causation_id", "actor", "recorded_at",
)  # fmt: skip
"""An event's stored values, in column order: the chain covers them in this order."""
ROW = ", ".join(COLUMNS)
TIP = sql("SELECT position, hash FROM events ORDER BY position DESC LIMIT 1")
START = sql("SELECT position, hash FROM log_start WHERE id = 1")


def link(previous: str, row: Sequence[Any]) -> str:
    """The hash of a row (its eleven stored values, in column order) after `previous`."""
    return hashlib.sha256(previous.encode() + orjson.dumps(tuple(row))).hexdigest()


def tip(db: Db) -> tuple[int, str]:
    """The newest position and its hash: with no event in the hot log, the last one
    archived (see `log_start`), or 0 and GENESIS on an empty log."""
    row = db.execute(TIP).fetchone() or db.execute(START).fetchone()
    return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))
