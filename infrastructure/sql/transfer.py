"""Moving a log between databases: export as JSON Lines in a CloudEvents 1.0 envelope,
import such a file into an empty store, copy a prefix of one log into a new database.

Every stored value travels: the envelope's standard attributes carry the event id,
stream (subject), time (recorded_at, as stored) and payload (data, the stored JSON text
verbatim); extension attributes carry the position, stream version, schema version,
correlation and causation ids, actor and chain hash. An import recomputes every hash
from what it read and refuses the whole file at the first line that does not match, so a
history edited on the way cannot pass for the original.
"""

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson

from infrastructure.sql import chain, stored_events
from infrastructure.sql.db import Db, sql

SPEC_VERSION = "1.0"
SOURCE = "/taskrouterx"
TYPE_PREFIX = "dev.taskrouterx."
COUNT = sql("SELECT COUNT(*) FROM events")
UP_TO = sql(f"SELECT {chain.ROW}, hash FROM events WHERE position <= ? ORDER BY position")
CHUNK = 5000

Progress = Callable[[int], None]


class InvalidImport(ValueError):
    """The file cannot be imported; nothing was written."""


def export_lines(
    db: Db, to: int | None = None, progress: Progress | None = None
) -> Iterator[bytes]:
    """The log up to `to` (all of it if None), one CloudEvent per line, newline-terminated."""
    done = 0
    for rows in _chunks_up_to(db, to if to is not None else 2**62):
        for row in rows:
            yield orjson.dumps(cloud_event(row), option=orjson.OPT_APPEND_NEWLINE)
        done += len(rows)
        if progress is not None:
            progress(done)


def import_lines(
    db: Db,
    lines: Iterable[bytes],
    progress: Progress | None = None,
    archived: Iterable[tuple[Any, ...]] = (),
) -> int:
    """Append every event of the file to an empty log, checking the chain as it goes;
    after `archived` (the rows of archive segments, in order: stored values and hash), if
    the file is the export of a hot log whose older events were archived. Call inside a
    transaction: on InvalidImport the caller's rollback writes nothing."""
    head = db.execute(COUNT).fetchone()[0]
    if head:
        raise InvalidImport(f"the store already holds {head} events; import needs an empty one")
    previous, batch, count = chain.GENESIS, [], 0
    for where, row, claimed in _claimed_rows(archived, lines):
        if row[0] != count + 1:
            raise InvalidImport(f"{where}: position {row[0]}, expected {count + 1}")
        previous = chain.link(previous, row)
        if previous != claimed:
            raise InvalidImport(
                f"{where}: the event does not match its hash (altered after export?)"
            )
        batch.append((*row, previous))
        count += 1
        if len(batch) == CHUNK:
            db.executemany(stored_events.INSERT, batch)
            batch = []
            if progress is not None:
                progress(count)
    db.executemany(stored_events.INSERT, batch)
    if progress is not None:
        progress(count)
    return count


def _claimed_rows(
    archived: Iterable[tuple[Any, ...]], lines: Iterable[bytes]
) -> Iterator[tuple[str, tuple[Any, ...], str]]:
    """(where, the stored values, the hash claimed for them): the archive's rows, then the
    file's lines."""
    for row in archived:
        yield f"archive position {row[0]}", tuple(row[:-1]), str(row[-1])
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield f"line {number}", *row_of(number, line)


def copy_log(source: Db, target: Db, to: int, progress: Progress | None = None) -> int:
    """Copy positions 1..to, rows and hashes as they are, into an empty log."""
    if target.execute(COUNT).fetchone()[0]:
        raise InvalidImport("the target database already holds events")
    copied = 0
    for rows in _chunks_up_to(source, to):
        target.executemany(stored_events.INSERT, rows)
        copied += len(rows)
        if progress is not None:
            progress(copied)
    return copied


def _chunks_up_to(db: Db, to: int) -> Iterator[list[tuple[Any, ...]]]:
    """Stored rows (the chained values and the hash) of positions 1..to, CHUNK at a time."""
    cursor = db.execute(UP_TO, (to,))
    while rows := cursor.fetchmany(CHUNK):
        yield rows


def cloud_event(row: tuple[Any, ...], with_hash: bool = True) -> dict[str, Any]:
    """A stored row (the chained values and the hash) as a CloudEvent (without the hash
    attribute unless `with_hash`)."""
    (position, stream_id, version, type_name, schema_version, payload, event_id,
     correlation_id, causation_id, actor, recorded_at, hashed) = row  # fmt: skip
    event = {
        "specversion": SPEC_VERSION,
        "id": event_id,
        "source": SOURCE,
        "type": TYPE_PREFIX + type_name,
        "subject": stream_id,
        "time": recorded_at,
        "datacontenttype": "application/json",
        "position": position,
        "streamversion": version,
        "schemaversion": schema_version,
        "correlationid": correlation_id,
        "actor": actor,
        "data": orjson.Fragment(payload),
    }
    if with_hash:
        event["hash"] = hashed
    if causation_id is not None:
        event["causationid"] = causation_id
    return event


def row_of(number: int, line: bytes, claims_hash: bool = True) -> tuple[tuple[Any, ...], str]:
    """The stored values a CloudEvent line carries, and the hash it claims ("" when
    `claims_hash` is False: an archive segment's lines carry none); InvalidImport naming
    line `number` if it is not such a line."""
    try:
        event = orjson.loads(line)
        if not isinstance(event, dict) or event.get("specversion") != SPEC_VERSION:
            raise InvalidImport(f"line {number}: not a CloudEvents {SPEC_VERSION} event")
        type_name = str(event["type"])
        if not type_name.startswith(TYPE_PREFIX):
            raise InvalidImport(f"line {number}: type {type_name!r} is not a TaskRouterX event")
        causation = event.get("causationid")
        row = (
            _integer(event["position"]),
            str(event["subject"]),
            _integer(event["streamversion"]),
            type_name.removeprefix(TYPE_PREFIX),
            _integer(event["schemaversion"]),
            orjson.dumps(event["data"]).decode(),
            str(event["id"]),
            str(event["correlationid"]),
            None if causation is None else str(causation),
            str(event["actor"]),
            str(event["time"]),
        )
        return row, str(event["hash"]) if claims_hash else ""
    except orjson.JSONDecodeError:
        raise InvalidImport(f"line {number}: not JSON") from None
    except KeyError as missing:
        raise InvalidImport(f"line {number}: no {missing.args[0]!r} attribute") from None
    except (TypeError, AttributeError, ValueError) as error:
        if isinstance(error, InvalidImport):
            raise
        raise InvalidImport(f"line {number}: {error}") from None


def _integer(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{value!r} is not an integer")
    return value
