"""The board a recorded decision was made on, rebuilt from the log (see DecisionRecord):
every pool as the log stood at the record's `seen`, plus one slot for each of its scheduler
run's assignments after `seen` and before the decision.

`PoolTrail` folds the log in order (pool rows by the pool row's fold) and keeps an undo
trail of the recent pool changes and assignments, so the board at any recent position
comes from the current rows and the few changes since."""

from collections import deque
from collections.abc import Iterable
from typing import Any

from application.read_models import pools
from application.read_models.record import Recorded, Row
from domain.events import WorkerAssigned
from domain.scheduling import PoolSnapshot
from domain.values import ResourceType

ASSIGNED = WorkerAssigned.type_name()
TYPES = pools.TYPES | {ASSIGNED}
"""The event types the board is rebuilt from."""


class TooOld(Exception):
    """The board asked for is older than the trail keeps."""


class PoolTrail:
    def __init__(self, keep: int = 200_000) -> None:
        """`keep`: how many positions back a board can be rebuilt."""
        self._keep = keep
        self._rows: dict[str, Row] = {}
        self._changes: deque[tuple[int, str, Row | None]] = deque()
        """(position, pool id, the row's values before: None for a registration)"""
        self._assigned: deque[tuple[int, str, str]] = deque()
        """(position, scheduler run, pool id) of each assignment recorded with a run"""
        self.position = 0

    def apply(self, record: Recorded) -> None:
        """Fold the next event of the log (any type: the others pass)."""
        self.position = record.position
        kind = record.type
        if kind == ASSIGNED:
            run = _run(record.data["decision"])
            if run is not None:
                self._assigned.append((record.position, run, record.data["pool_id"]))
        elif kind == "WorkerPoolRegistered":
            row = pools.start(record)
            self._rows[row["pool_id"]] = row
            self._changes.append((record.position, row["pool_id"], None))
        elif kind in pools.TYPES:
            pool_id = record.data["pool_id"]
            current = self._rows.get(pool_id)
            if current is not None:
                changes = pools.fold(record, current)
                if changes:
                    before = {column: current[column] for column in changes}
                    self._changes.append((record.position, pool_id, before))
                    current.update(changes)
        self._forget(record.position - self._keep)

    def _forget(self, before: int) -> None:
        while self._changes and self._changes[0][0] < before:
            self._changes.popleft()
        while self._assigned and self._assigned[0][0] < before:
            self._assigned.popleft()

    def board(self, seen: int, before: int, run: str) -> list[PoolSnapshot]:
        """The pools as the log stood at `seen`, with a slot taken for each of `run`'s
        assignments at positions in (seen, before), in registration order. TooOld if `seen`
        is further back than the trail keeps."""
        if seen < self.position - self._keep:
            raise TooOld(f"position {seen} is more than {self._keep} positions back")
        rows = {pool_id: dict(row) for pool_id, row in self._rows.items()}
        for position, pool_id, before_values in reversed(self._changes):
            if position <= seen:
                break
            if before_values is None:
                del rows[pool_id]
            else:
                rows[pool_id].update(before_values)
        for position, by, pool_id in reversed(self._assigned):
            if position <= seen:
                break
            if position < before and by == run and pool_id in rows:
                rows[pool_id]["current_load"] += 1
        return sorted(map(snapshot, rows.values()), key=lambda pool: pool.registration)


def board_at(history: Iterable[Recorded], seen: int, before: int, run: str) -> list[PoolSnapshot]:
    """The board from a history holding every pool event up to `seen` and the assignments
    in (seen, before), in position order."""
    trail = PoolTrail(keep=max(before - seen, 1) + 1)
    for record in history:
        if record.position >= before:
            break
        trail.apply(record)
    return trail.board(seen, before, run)


def snapshot(row: Row) -> PoolSnapshot:
    """A pool row as the scheduler sees a pool."""
    return PoolSnapshot(
        row["pool_id"],
        row["name"],
        row["region"],
        ResourceType(row["resource_type"]),
        float(row["cost_per_unit"]),
        row["capacity"],
        row["current_load"],
        row["registration"],
        bool(row["draining"]),
    )


def _run(decision: dict[str, Any]) -> str | None:
    run = decision.get("run")
    return run if isinstance(run, str) else None
