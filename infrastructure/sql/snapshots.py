"""The snapshots table: each snapshotted stream's newest snapshot, written by a projection
in the transaction that records the stream's `every`-th event (see
`application.snapshots`), read when an aggregate is loaded cold."""

import hashlib
from collections.abc import Sequence

import structlog

from application.audit.snapshot_check import CheckedSnapshot
from application.snapshots import Snapshot, aggregate_of, folded
from infrastructure.codec import decode_state, encode_state
from infrastructure.sql import stored_events
from infrastructure.sql.db import Db, sql
from infrastructure.sql.projections.base import EventRecord

log = structlog.get_logger(__name__)

LATEST = sql("SELECT version, position, state, digest FROM snapshots WHERE stream_id = ?")
ALL = sql("SELECT stream_id, version, position, state, digest FROM snapshots ORDER BY stream_id")
SAVE = sql(
    "INSERT INTO snapshots (stream_id, version, position, state, digest) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, "
    "position = excluded.position, state = excluded.state, digest = excluded.digest"
)


def digest(state_json: str) -> str:
    """SHA-256 of a snapshot's state as stored (hex)."""
    return hashlib.sha256(state_json.encode()).hexdigest()


def latest(db: Db, stream_id: str) -> Snapshot | None:
    """The stream's snapshot, if it has one it can trust: a state that does not hash to its
    digest or cannot be read is passed over (the stream is then folded whole; verification
    reports the snapshot)."""
    row = db.execute(LATEST, (stream_id,)).fetchone()
    aggregate = aggregate_of(stream_id)
    if row is None or aggregate is None:
        return None
    version, position, text, stored_digest = row
    if digest(str(text)) != stored_digest:
        log.warning("snapshot.passed_over", stream_id=stream_id, reason="digest")
        return None
    try:
        state = decode_state(aggregate, text)
    except Exception as error:  # whatever the stored text makes the decoder raise
        log.warning("snapshot.passed_over", stream_id=stream_id, reason=str(error))
        return None
    return Snapshot(stream_id, int(version), int(position), state)


CHECKED = sql(
    "SELECT stream_id, version, position, state, digest FROM snapshots "
    "WHERE position > ? AND position <= ?"
)


def checked(db: Db, after_position: int, up_to: int) -> list[CheckedSnapshot]:
    """The snapshots standing at positions (after_position, up_to], as verification reads
    them: a state that cannot be decoded comes as None, not as an error."""
    found = []
    for stream_id, version, position, text, stored_digest in db.execute(
        CHECKED, (after_position, up_to)
    ):
        aggregate = aggregate_of(stream_id)
        try:
            state = None if aggregate is None else decode_state(aggregate, text)
        except Exception:  # whatever the stored text makes the decoder raise
            state = None
        intact = digest(str(text)) == stored_digest
        found.append(CheckedSnapshot(stream_id, int(version), int(position), state, intact))
    return found


class SnapshotsProjection:
    """Writes a stream's snapshot when its `every`-th, 2 * `every`-th ... event is
    recorded: its previous snapshot, the events since, folded by the aggregate."""

    name = "snapshots"
    tables: tuple[str, ...] = ("snapshots",)

    def __init__(self, every: int) -> None:
        self.every = every

    def apply(self, db: Db, records: Sequence[EventRecord]) -> None:
        due: dict[str, EventRecord] = {}
        every = self.every
        for record in records:
            if record.version % every == 0 and aggregate_of(record.stream_id) is not None:
                due[record.stream_id] = record
        for stream_id, record in due.items():
            take(db, stream_id, record.version, record.position)


FORGET = sql("DELETE FROM snapshots WHERE stream_id = ?")


def forget(db: Db, stream_ids: Sequence[str]) -> None:
    """Drop the snapshots of streams no command will load again."""
    db.executemany(FORGET, [(stream_id,) for stream_id in stream_ids])


def take(db: Db, stream_id: str, version: int, position: int) -> None:
    """Snapshot the stream at `version` (its event at `position`), unless its snapshot is
    already there or newer: its previous snapshot and the events since, folded."""
    previous = latest(db, stream_id)
    state, after = (None, 0) if previous is None else (previous.state, previous.version)
    if after >= version:
        return
    events = stored_events.stream_events(db, stream_id, after, version)
    text = encode_state(folded(stream_id, state, events))
    db.execute(SAVE, (stream_id, version, position, text, digest(text)))
