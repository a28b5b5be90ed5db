"""Removing archived events from the hot log, in bounded steps.

Each step is one write transaction (it waits its turn with the appends): it reads the
next events after the log's start up to the new cut, folds them into the start (the pools,
the algorithm and the open tasks' statuses there, with the cut's chain hash), snapshots
every aggregate that lives on past the cut (pools, the scheduler configuration, tasks not
completed or cancelled) at its last version before it, deletes the events and saves the
new start (with what the events add to the read models time travel serves), and records
the segments that now hold them. A step interrupted at any point
leaves the hot log as it was; the next run goes on from the start it finds.

Only archived events are removed: the cut never passes the archive's last position, and
the chain hash stored at every segment end inside a step must be the segment's. Nor does
the cut pass a projection's checkpoint. A decision just after the cut may have seen the
pools a little before it (its scheduler run began there): the start keeps the pool changes
and assignments since the earliest such position (its floor), so those boards are rebuilt
from the start too."""

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import orjson
import structlog
from sqlalchemy import Engine

from application.audit.log_start import LogStart
from application.snapshots import aggregate_of
from domain.events import TaskDeferred, WorkerAssigned
from infrastructure.archive.segments import Manifest
from infrastructure.sql import log_start, snapshots, stored_events
from infrastructure.sql.db import Db, reading, sql
from infrastructure.sql.projections.runner import read_checkpoints
from infrastructure.sql.time_travel import Summary
from infrastructure.sql.write_connection import WriteConnection

log = structlog.get_logger(__name__)

STEP_EVENTS = 20_000
"""Events a step removes at most (one write transaction: about a tenth of a second)."""
DECISION_WINDOW = 20_000
"""Positions after a cut searched for decisions that saw the pools before it."""
DELETE = sql("DELETE FROM events WHERE position > ? AND position <= ?")
DELETE_TRACES = sql("DELETE FROM event_traces WHERE position > ? AND position <= ?")
DECISIONS = sql(
    "SELECT position, payload FROM events WHERE type IN (?, ?) AND position > ? "
    "AND position <= ? ORDER BY position"
)
DECISION_TYPES = (WorkerAssigned.type_name(), TaskDeferred.type_name())

Hook = Callable[[str, int], None]
"""Called with ("removing", cut) inside a step's transaction and ("removed", cut) after
its commit (tests stop the process there)."""


class ArchiveMismatch(Exception):
    """The hot log's chain hash at a segment's end is not the one the segment records."""


@dataclass
class Removal:
    start: int
    """The hot log's start when the run ends (the last position removed)."""
    events: int = 0
    steps: int = 0


def remove(
    engine: Engine,
    manifests: Sequence[Manifest],
    up_to: int,
    moved_at: str,
    step_events: int = STEP_EVENTS,
    progress: Callable[[int], None] | None = None,
    hook: Hook | None = None,
    pace: Callable[[], bool] | None = None,
    reader: Engine | None = None,
) -> Removal:
    """Remove the events up to `up_to` that the segments of `manifests` (the archive, in
    position order) hold, step by step; `pace` is called between two steps (it may wait,
    and ends the run early by returning False); `progress` gets the events removed so
    far. With a `reader` (the read engine), the decisions the steps look at are read
    before the first step, outside the write lock."""
    archived = manifests[-1].last_position if manifests else 0
    writes = WriteConnection(engine)
    seen = DecisionsSeen()
    if reader is not None:
        with reading(reader, transaction=True) as db:
            seen.read_ahead(db, stored_events.bounds(db)[1], min(up_to, archived))
    try:
        removal = Removal(0)
        while True:
            with writes.transaction() as db:
                done = _step(db, manifests, min(up_to, archived), step_events, moved_at, seen)
                if hook is not None and done is not None:
                    hook("removing", done[0].position)
            if done is None:
                break
            start, removed = done
            removal.start, removal.events, removal.steps = (
                start.position, removal.events + removed, removal.steps + 1,
            )  # fmt: skip
            if hook is not None:
                hook("removed", start.position)
            if progress is not None:
                progress(removal.events)
            if pace is not None and not pace():
                break
        if removal.steps == 0:
            with writes.transaction() as db:
                removal.start = (log_start.position(db) or (0, ""))[0]
        return removal
    finally:
        writes.close()


def _step(
    db: Db,
    manifests: Sequence[Manifest],
    target: int,
    step_events: int,
    moved_at: str,
    seen: "DecisionsSeen",
) -> tuple[LogStart, int] | None:
    """One step (in the caller's transaction): the new start and the events removed, or
    None when the start cannot move."""
    current = log_start.load(db)
    checkpoints = read_checkpoints(db).values()
    bound = min(target, current.position + step_events, min(checkpoints, default=target))
    if bound <= current.position:
        return None
    floor = min(bound, seen.earliest(db, bound))
    if floor < current.floor:  # a scheduler run longer than DECISION_WINDOW: see below
        log.warning("removal.run_before_floor", seen=floor, floor=current.floor)
        floor = current.floor
    page = stored_events.read_checked(db, current.position, bound - current.position, bound)
    if len(page) != bound - current.position:
        raise ArchiveMismatch(
            f"the hot log holds {len(page)} events at positions {current.position + 1}.."
            f"{bound}, not {bound - current.position}"
        )
    hashes = {recorded.position: recorded.hash for recorded in page}
    for manifest in manifests:
        ends = manifest.last_position
        if current.position < ends <= bound and hashes[ends] != manifest.hash_after:
            raise ArchiveMismatch(
                f"segment {manifest.stem} ends with chain hash {manifest.hash_after}, "
                f"the hot log has {hashes[ends]} there"
            )
    last: dict[str, tuple[int, int]] = {}
    """Each stream's last version in the step, and its position."""
    for recorded in page:
        last[recorded.stream_id] = (recorded.version, recorded.position)
    start = current.advanced(page, hashes[bound], floor)
    before = log_start.summary(db)
    summary = Summary() if before is None else Summary.decoded(before[1])
    for recorded in page:
        summary.add(recorded)
    closed = []
    for stream_id, (version, position) in last.items():
        if _lives_on(stream_id, start):
            snapshots.take(db, stream_id, version, position)
        elif stream_id.startswith("task-"):
            closed.append(stream_id)
    snapshots.forget(db, closed)  # tasks closed and wholly archived: never loaded again
    db.execute(DELETE, (current.position, bound))
    db.execute(DELETE_TRACES, (current.position, bound))
    log_start.save(db, start, summary.encoded(), moved_at)
    log_start.register(
        db,
        [m for m in manifests if m.first_position <= bound and m.last_position > current.position],
    )
    return start, len(page)


def _lives_on(stream_id: str, start: LogStart) -> bool:
    """Whether the stream's aggregate may still be loaded after the cut: every pool and
    the configuration do; a task does unless it was completed or cancelled."""
    if aggregate_of(stream_id) is None:
        return False
    return not stream_id.startswith("task-") or stream_id in start.statuses


class DecisionsSeen:
    """Where the scheduler runs of the decisions after a step's bound began (their `seen`).

    A step's floor is the earliest position whose pools a decision after its bound saw
    (its run began there), among the decisions in the next DECISION_WINDOW positions;
    the bound if none saw earlier. The start keeps what rebuilds the boards from there on.
    A run that began further back than the window (none is near so long) has its
    decisions after the cut reported by a verification from the start, as boards it
    cannot rebuild.

    The window is read once, by the first step of a run; each later step reads only the
    positions its window adds (events are only ever appended), not the whole window
    again."""

    def __init__(self) -> None:
        self._positions: list[int] = []
        self._seen: list[int] = []
        self._read_to: int | None = None

    def earliest(self, db: Db, bound: int) -> int:
        end = bound + DECISION_WINDOW
        if self._read_to is None or self._read_to < bound:
            self._positions, self._seen, self._read_to = [], [], bound
        if end > self._read_to:
            self._read(db, end)
        low, high = bisect_right(self._positions, bound), bisect_right(self._positions, end)
        return min(self._seen[low:high], default=bound)

    def read_ahead(self, db: Db, start: int, target: int) -> None:
        """Read the windows of every step from the log's `start` to `target` at once."""
        self._positions, self._seen, self._read_to = [], [], start
        self._read(db, target + DECISION_WINDOW)

    def _read(self, db: Db, up_to: int) -> None:
        assert self._read_to is not None
        rows = db.execute(DECISIONS, (*DECISION_TYPES, self._read_to, up_to))
        for position, payload in rows:
            if (at := _seen(payload)) is not None:
                self._positions.append(int(position))
                self._seen.append(at)
        self._read_to = min(up_to, stored_events.head(db))


def _seen(payload: str | bytes) -> int | None:
    """A compact decision record's `seen` (None for a decision recorded whole)."""
    try:
        seen = orjson.loads(payload)["decision"].get("seen")
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return None
    return seen if isinstance(seen, int) else None
