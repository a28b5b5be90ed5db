"""The pools as the log stood at any position, fast enough to rebuild a decision's board on
request (GET /tasks/{id}/decisions) with thousands of pools and millions of events.

Each pool's fixed fields are kept once, in registration order; its changing ones
(capacity, load, draining) column-wise in a checkpoint every BLOCK positions, kept in
memory (a full block never changes; 10,000 pools cost 90 KB a checkpoint). The pools at a
position are the nearest checkpoint before it plus the pool events since, each folded by
the pool row's fold (`application.read_models.pools`). Once older events are archived, the
checkpoints start at the hot log's start, from the pools stored there."""

import threading
from array import array
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from application.audit.decision_inputs import ASSIGNED
from application.messages import RecordedEvent
from application.read_models import pools
from application.read_models.record import Add
from domain.scheduling import PoolSnapshot
from domain.scheduling.record import pool_hash
from domain.values import ResourceType
from domain.worker_pool import pool_stream
from infrastructure.archive.archived_log import ArchivedLog
from infrastructure.codec import stored_data
from infrastructure.sql import log_start, stored_events
from infrastructure.sql.db import Db, marks, reading, sql

BLOCK = 10_000
POOL_TYPES = sorted(pools.TYPES)
POOL_TYPE_SET = frozenset(POOL_TYPES)
CHANGING = ("capacity", "current_load", "draining")
CACHED_POOLS = 200_000
POOL_EVENTS = sql(
    "SELECT position, stream_id, type, schema_version, payload FROM events "
    f"WHERE type IN ({marks(len(POOL_TYPES))}) AND position > ? AND position <= ? "
    "ORDER BY position"
)
POOL_PREFIX = pool_stream("")


class _Stored:
    """A stored pool event as the pool row's fold reads it: its payload parsed only when
    the fold asks (a slot claimed or released needs none)."""

    __slots__ = ("_data", "_payload", "_schema", "position", "stream_id", "type")
    correlation_id = ""

    def __init__(self, row: tuple[Any, ...]) -> None:
        self.position, self.stream_id, self.type, self._schema, self._payload = row
        self._data: dict[str, Any] | None = None

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            self._data = stored_data(self.type, self._schema, self._payload)
        return self._data


@dataclass
class State:
    """The changing fields of the first `count` pools registered, column-wise."""

    count: int
    columns: dict[str, array]  # type: ignore[type-arg]

    def copy(self) -> "State":
        return State(
            self.count, {name: array("q", values) for name, values in self.columns.items()}
        )


@dataclass(frozen=True)
class Fixed:
    pool_id: str
    name: str
    region: str
    resource_type: ResourceType
    cost_per_unit: float
    registration: int


class PoolHistory:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._fixed: list[Fixed] = []
        self._index: dict[str, int] = {}
        self._origin = 0
        """The position of the first checkpoint: 0, or the hot log's start once older
        events are archived."""
        self._checkpoints: list[State] = [State(0, {name: array("q") for name in CHANGING})]
        """The state at `_origin`, then at each multiple of BLOCK after it."""
        self._pools: dict[tuple[int, int, int, int], tuple[PoolSnapshot, bytes]] = {}
        """Pools in states asked for lately, with their hashes (cleared at CACHED_POOLS)."""

    def warm(self) -> None:
        """Make the checkpoints up to the head now (the server does it in the background
        at start), so the first explanation does not wait for them."""
        with reading(self._engine, transaction=True) as db:
            self._state_at(db, stored_events.head(db))

    def inputs(self, seen: int, before: int, run: str) -> list[tuple[PoolSnapshot, bytes]]:
        """The pools as the log stood at `seen`, with a slot for each of `run`'s
        assignments at positions in (seen, before), in registration order, each with its
        hash. A pool in a state asked for recently comes from a cache (most of a large
        fleet does not change between two decisions)."""
        with reading(self._engine, transaction=True) as db:
            state = self._state_at(db, seen)
            for recorded in self._assigned(db, seen + 1, before - 1):
                decision = recorded.data["decision"]
                if decision.get("run") == run:
                    index = self._index.get(recorded.data["pool_id"])
                    if index is not None and index < state.count:
                        state.columns["current_load"][index] += 1
        capacity, load, draining = (state.columns[name] for name in CHANGING)
        return [
            self._pool(index, capacity[index], load[index], draining[index])
            for index in range(state.count)
        ]

    def _pool(
        self, index: int, capacity: int, load: int, draining: int
    ) -> tuple[PoolSnapshot, bytes]:
        key = (index, capacity, load, draining)
        cached = self._pools.get(key)
        if cached is None:
            fixed = self._fixed[index]
            pool = PoolSnapshot(
                fixed.pool_id, fixed.name, fixed.region, fixed.resource_type,
                fixed.cost_per_unit, capacity, load, fixed.registration, bool(draining),
            )  # fmt: skip
            if len(self._pools) >= CACHED_POOLS:
                self._pools.clear()
            cached = self._pools[key] = (pool, pool_hash(pool))
        return cached

    def _state_at(self, db: Db, position: int) -> State:
        start = stored_events.bounds(db)[1]
        if position < start:
            raise log_start.archived(db, start, position)
        with self._lock:
            first_block = self._origin // BLOCK
            index = max(0, position // BLOCK - first_block)
            if self._at(min(index, len(self._checkpoints) - 1)) < start:
                self._rebase(db, start)  # the events it would fold from were archived
                first_block = self._origin // BLOCK
                index = max(0, position // BLOCK - first_block)
            while len(self._checkpoints) <= index:
                done = len(self._checkpoints) - 1
                state = self._checkpoints[-1].copy()
                self._fold(db, state, self._at(done), self._at(done + 1))
                self._checkpoints.append(state)
            state = self._checkpoints[index].copy()
            self._fold(db, state, self._at(index), position)
        return state

    def _at(self, index: int) -> int:
        """The position of checkpoint `index`."""
        return self._origin if index == 0 else (self._origin // BLOCK + index) * BLOCK

    def _rebase(self, db: Db, start: int) -> None:
        """Start the checkpoints afresh at the hot log's start, from the pools stored
        there."""
        self._fixed, self._index, self._pools = [], {}, {}
        state = State(0, {name: array("q") for name in CHANGING})
        for row in log_start.load(db).pools.values():
            self._register(state, dict(row))
        self._origin, self._checkpoints = start, [state]

    def _fold(self, db: Db, state: State, after: int, up_to: int) -> None:
        """Fold the pool events at positions (after, up_to] into `state`."""
        if up_to <= after:
            return
        for row in db.execute(POOL_EVENTS, (*POOL_TYPES, after, up_to)):
            self._apply(state, row)

    def _assigned(self, db: Db, first: int, last: int) -> list[RecordedEvent]:
        return stored_events.read_types_within(db, [ASSIGNED], first, last)

    def _apply(self, state: State, row: tuple[Any, ...]) -> None:
        """Fold one pool event: (position, stream, type, schema version, payload)."""
        recorded = _Stored(row)
        if recorded.type == "WorkerPoolRegistered":
            self._register(state, pools.start(recorded))
            return
        index = self._index.get(recorded.stream_id.removeprefix(POOL_PREFIX))
        if index is None or index >= state.count:
            return
        for column, value in pools.changes(recorded).items():
            values = state.columns.get(column)
            if values is None:
                continue
            if isinstance(value, Add):
                values[index] += value
            else:
                values[index] = int(value)

    def _register(self, state: State, row: dict[str, object]) -> None:
        pool_id = str(row["pool_id"])
        index = self._index.get(pool_id)
        if index is None:  # first seen (a later checkpoint's fold finds it known)
            index = len(self._fixed)
            self._index[pool_id] = index
            self._fixed.append(
                Fixed(
                    pool_id,
                    str(row["name"]),
                    str(row["region"]),
                    ResourceType(str(row["resource_type"])),
                    float(row["cost_per_unit"]),  # type: ignore[arg-type]
                    int(row["registration"]),  # type: ignore[call-overload]
                )
            )
        assert index == state.count, "pools are registered in position order"
        state.count += 1
        for name in CHANGING:
            state.columns[name].append(int(row[name]))  # type: ignore[call-overload]


class ArchivedPoolHistory(PoolHistory):
    """The pools at a position before the hot log's start, folded from the archive's
    segments (ARCHIVE_DIR): the checkpoints up to a position are made in one pass over
    the segments, each read once."""

    def __init__(self, engine: Engine, archive: ArchivedLog) -> None:
        super().__init__(engine)
        self._archive = archive

    def _state_at(self, db: Db, position: int) -> State:
        with self._lock:
            index = position // BLOCK
            if len(self._checkpoints) <= index:
                self._checkpoint_up_to(index)
            state = self._checkpoints[index].copy()
            self._fold(db, state, index * BLOCK, position)
        return state

    def _checkpoint_up_to(self, index: int) -> None:
        state = self._checkpoints[-1].copy()
        boundary = len(self._checkpoints) * BLOCK
        for row in self._archive.rows((len(self._checkpoints) - 1) * BLOCK, index * BLOCK):
            while row[0] > boundary:
                self._checkpoints.append(state.copy())
                boundary += BLOCK
            self._apply_archived(state, row)
        while len(self._checkpoints) <= index:
            self._checkpoints.append(state.copy())

    def _fold(self, db: Db, state: State, after: int, up_to: int) -> None:
        for row in self._archive.rows(after, up_to):
            self._apply_archived(state, row)

    def _apply_archived(self, state: State, row: tuple[Any, ...]) -> None:
        """Fold one archived row (the stored columns) if it is a pool event."""
        if row[3] in POOL_TYPE_SET:
            self._apply(state, (row[0], row[1], row[3], row[4], row[5]))

    def _assigned(self, db: Db, first: int, last: int) -> list[RecordedEvent]:
        return [
            recorded for recorded in self._archive.recorded(first - 1, last)
            if recorded.type == ASSIGNED
        ]  # fmt: skip
