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
from domain.scheduling.record import pool_hash

ASSIGNED = WorkerAssigned.type_name()
TYPES = pools.TYPES | {ASSIGNED}
"""The event types the board is rebuilt from."""
FORGET_EVERY = 1000
"""Positions between two trims of the trail (it keeps up to this many more than asked)."""


Change = tuple[int, str, Row | None]
"""A pool change: (position, pool id, the changed columns' values before; None for a
registration)."""
Assignment = tuple[int, str, str]
"""An assignment recorded with a scheduler run: (position, run, pool id)."""


class TooOld(Exception):
    """The board asked for is older than the trail keeps."""


class PoolTrail:
    def __init__(self, keep: int = 200_000) -> None:
        """`keep`: how many positions back a board can be rebuilt."""
        self._keep = keep
        self._rows: dict[str, Row] = {}
        self._changes: deque[Change] = deque()
        """(position, pool id, the row's values before: None for a registration)"""
        self._assigned: deque[Assignment] = deque()
        """(position, scheduler run, pool id) of each assignment recorded with a run"""
        self._current: dict[str, tuple[PoolSnapshot, bytes]] = {}
        """Each pool as it is now, and its hash (kept: most pools do not change between a
        decision's `seen` and the decision)."""
        self.position = 0
        self._floor = 0
        """No board before this position can be rebuilt: the log starts after it."""

    @classmethod
    def at(
        cls,
        position: int,
        rows: dict[str, Row],
        changes: Iterable[Change] = (),
        assigned: Iterable[Assignment] = (),
        floor: int | None = None,
    ) -> "PoolTrail":
        """A trail that starts at `position` with the pools' rows there (by pool id, in
        registration order) and the pool changes and assignments at positions in (floor,
        position] (`entries_after`): the boards from `floor` (default: `position`) on
        can be rebuilt."""
        trail = cls()
        trail._rows = rows
        trail._changes.extend(changes)
        trail._assigned.extend(assigned)
        trail.position = position
        trail._floor = position if floor is None else floor
        return trail

    def entries_after(self, floor: int) -> tuple[list[Change], list[Assignment]]:
        """The pool changes and assignments the trail holds at positions after `floor`:
        with the rows, what rebuilds the boards from `floor` on."""
        return (
            [entry for entry in self._changes if entry[0] > floor],
            [entry for entry in self._assigned if entry[0] > floor],
        )

    @property
    def rows(self) -> dict[str, Row]:
        """Each registered pool's row as the log stands, by pool id."""
        return self._rows

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
            self._current.pop(row["pool_id"], None)
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
                    self._current.pop(pool_id, None)
        if record.position % FORGET_EVERY == 0:
            self._forget(record.position - self._keep)

    def _forget(self, before: int) -> None:
        while self._changes and self._changes[0][0] < before:
            self._changes.popleft()
        while self._assigned and self._assigned[0][0] < before:
            self._assigned.popleft()

    def inputs(self, seen: int, before: int, run: str) -> list[tuple[PoolSnapshot, bytes]]:
        """The pools as the log stood at `seen`, with a slot taken for each of `run`'s
        assignments at positions in (seen, before), in registration order, each with its
        hash (`pool_hash`, for the decision's digest). TooOld if `seen` is further back
        than the trail keeps."""
        if seen < self.position - self._keep:
            raise TooOld(f"position {seen} is more than {self._keep} positions back")
        if seen < self._floor:
            raise TooOld(f"position {seen} is before the log's start at {self._floor}")
        then: dict[str, Row | None] = {}
        """The pools that differ at `seen` from now: their rows then (None: not yet
        registered)."""
        for position, pool_id, before_values in reversed(self._changes):
            if position <= seen:
                break
            if before_values is None:  # a pool's registration comes before its changes
                then[pool_id] = None
                continue
            row = then.get(pool_id) or dict(self._rows[pool_id])
            row.update(before_values)
            then[pool_id] = row
        for position, by, pool_id in reversed(self._assigned):
            if position <= seen:
                break
            if position >= before or by != run or pool_id not in self._rows:
                continue
            if pool_id not in then:
                then[pool_id] = dict(self._rows[pool_id])
            pending = then[pool_id]
            if pending is not None:
                pending["current_load"] += 1
        board = []
        for pool_id in self._rows:  # registration order
            if pool_id not in then:
                board.append(self._now(pool_id))
            elif (earlier := then[pool_id]) is not None:
                pool = pools.snapshot(earlier)
                board.append((pool, pool_hash(pool)))
        return board

    def _now(self, pool_id: str) -> tuple[PoolSnapshot, bytes]:
        current = self._current.get(pool_id)
        if current is None:
            pool = pools.snapshot(self._rows[pool_id])
            current = self._current[pool_id] = (pool, pool_hash(pool))
        return current


def _run(decision: dict[str, Any]) -> str | None:
    run = decision.get("run")
    return run if isinstance(run, str) else None
