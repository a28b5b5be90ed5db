"""The log_start and archive_segments tables: where the hot log starts once older events are
archived and removed (`application.audit.log_start.LogStart`), and the segments that hold
what was removed."""

import hashlib
from collections.abc import Iterable

import orjson

from application.audit.log_start import LogStart
from application.errors import CorruptEvent, HistoryArchived
from domain.values import Algorithm, TaskStatus
from infrastructure.archive.segments import SEGMENT_SUFFIX, Manifest
from infrastructure.sql.db import Db, sql

READ = sql("SELECT position, hash, state, digest, moved_at FROM log_start WHERE id = 1")
POSITION = sql("SELECT position, hash FROM log_start WHERE id = 1")
MOVED_AT = sql("SELECT moved_at FROM log_start WHERE id = 1")
SUMMARY = sql("SELECT position, summary FROM log_start WHERE id = 1")
SAVE = sql(
    "INSERT INTO log_start (id, position, hash, state, digest, summary, moved_at) "
    "VALUES (1, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET position = excluded.position, "
    "hash = excluded.hash, state = excluded.state, digest = excluded.digest, "
    "summary = excluded.summary, moved_at = excluded.moved_at"
)
SEGMENT = sql(
    "INSERT INTO archive_segments (first_position, last_position, events, bytes, sha256, "
    "hash_before, hash_after, file) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (first_position) DO NOTHING"
)
HOLDING = sql("SELECT file FROM archive_segments WHERE first_position <= ? AND last_position >= ?")
SEGMENTS = sql("SELECT COUNT(*), COALESCE(SUM(bytes), 0), COALESCE(MAX(last_position), 0) "
               "FROM archive_segments")  # fmt: skip


class DamagedStart(CorruptEvent):
    """The stored start does not hash to its digest or cannot be read: stored history is
    damaged, as with an event that cannot be read."""

    def __init__(self, position: int, problem: str) -> None:
        super().__init__(position, "log_start", problem)
        Exception.__init__(self, f"the log start at {position} {problem}")


def position(db: Db) -> tuple[int, str] | None:
    """The last position removed and its chain hash (None: nothing removed)."""
    row = db.execute(POSITION).fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


def moved_at(db: Db) -> str | None:
    """When the start last moved (None: never)."""
    row = db.execute(MOVED_AT).fetchone()
    return None if row is None else str(row[0])


def load(db: Db) -> LogStart:
    """The stored start (the empty start if nothing was removed); DamagedStart if its
    state was altered or cannot be read."""
    row = db.execute(READ).fetchone()
    if row is None:
        return LogStart()
    at, chain_hash, text, stored_digest, _ = row
    if digest(str(text)) != stored_digest:
        raise DamagedStart(int(at), "does not match its digest")
    try:
        return decoded(int(at), str(chain_hash), str(text))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise DamagedStart(int(at), f"cannot be read: {error}") from None


def save(db: Db, start: LogStart, summary: str, moved_at: str) -> None:
    """Store the start, with `summary`: what the events up to it add to the read models
    time travel serves (see `time_travel.Summary`)."""
    text = encoded(start)
    db.execute(SAVE, (start.position, start.hash, text, digest(text), summary, moved_at))


def summary(db: Db) -> tuple[int, str] | None:
    """The last position removed and the summary saved with it (None: nothing removed)."""
    row = db.execute(SUMMARY).fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


def register(db: Db, manifests: Iterable[Manifest]) -> None:
    """Record segments whose events leave the hot log (each once)."""
    db.executemany(
        SEGMENT,
        [
            (m.first_position, m.last_position, m.events, m.bytes, m.sha256, m.hash_before,
             m.hash_after, f"{m.stem}{SEGMENT_SUFFIX}")
            for m in manifests
        ],
    )  # fmt: skip


def archived(db: Db, start: int, asked: int) -> HistoryArchived:
    """The error for a read of position `asked`, archived and removed (the hot log starts
    after `start`), naming the segment that holds it."""
    return HistoryArchived(start, asked, holding(db, max(asked, 1)))


def holding(db: Db, at: int) -> str | None:
    """The file of the segment that holds position `at` (None if none is recorded)."""
    row = db.execute(HOLDING, (at, at)).fetchone()
    return None if row is None else str(row[0])


def segments(db: Db) -> tuple[int, int, int]:
    """(segments recorded, their bytes, the last position they hold)."""
    count, size, last = db.execute(SEGMENTS).fetchone()
    return int(count), int(size), int(last)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def encoded(start: LogStart) -> str:
    return orjson.dumps(
        {
            "pools": [[stream, row] for stream, row in start.pools.items()],
            "algorithm": start.algorithm.value,
            "statuses": {stream: status.value for stream, status in start.statuses.items()},
            "floor": start.floor,
            "changes": [list(change) for change in start.changes],
            "assigned": [list(assignment) for assignment in start.assigned],
            "tenants": start.tenants,
        }
    ).decode()


def decoded(at: int, chain_hash: str, text: str) -> LogStart:
    state = orjson.loads(text)
    return LogStart(
        at,
        chain_hash,
        {str(stream): dict(row) for stream, row in state["pools"]},
        Algorithm(state["algorithm"]),
        {str(stream): TaskStatus(status) for stream, status in state["statuses"].items()},
        int(state["floor"]),
        [(int(at), str(pool), None if before is None else dict(before))
         for at, pool, before in state["changes"]],
        [(int(at), str(run), str(pool)) for at, run, pool in state["assigned"]],
        state.get("tenants"),  # absent from a start saved before tenants were verified
    )  # fmt: skip
