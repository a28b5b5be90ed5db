"""Where the hot log starts once older events are archived: the position of the last event
moved out (the cut), its chain hash, and what a fold of the log up to it knows that later
events need: every pool's row (in registration order), the algorithm in use, and the status
of every task still open there (a completed or cancelled task can take no further event).

The hot log's first event links to `hash`, a verification from the cut starts from this
state (`start`), and a verification that reads the archive checks it against the fold of
the archived events (`difference`). Each cut folds the events it moves out into the
previous start (`advanced`)."""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from application.audit import tenant_trail
from application.audit.chain import GENESIS
from application.audit.decision_inputs import Assignment, Change, PoolTrail
from application.audit.tenant_trail import TenantTrail, open_facts
from application.audit.verify import AuditReport, Checked, Invariants, Start
from application.read_models.record import Row
from domain.scheduler_config import SchedulerConfig
from domain.values import Algorithm, ResourceType, TaskStatus

CLOSED = frozenset({TaskStatus.COMPLETED, TaskStatus.CANCELLED})
"""Statuses no event leaves: such a task is not kept in a start."""


@dataclass(frozen=True)
class LogStart:
    position: int = 0
    """The last archived position (0: nothing is archived); the hot log starts after it."""
    hash: str = GENESIS
    """The chain hash of the event at `position`."""
    pools: Mapping[str, Row] = field(default_factory=dict)
    """Each pool's row as the log stood at `position`, by its stream, in registration order."""
    algorithm: Algorithm = SchedulerConfig().algorithm
    statuses: Mapping[str, TaskStatus] = field(default_factory=dict)
    """The status at `position` of each task not completed or cancelled, by its stream."""
    floor: int = 0
    """The boards from this position on can be rebuilt: a decision after the start may
    have seen the pools before it (its scheduler run began there)."""
    changes: Sequence[Change] = ()
    """The pool changes at positions in (floor, position], with the values before."""
    assigned: Sequence[Assignment] = ()
    """The assignments recorded with a scheduler run at positions in (floor, position]."""
    tenants: Mapping[str, Any] | None = None
    """The tenants at `position` and their changes in (floor, position], as plain data
    (`TenantTrail.entries_after`; None in a start saved before tenants were verified)."""

    def advanced(self, events: Iterable[Checked], hash_at: str, floor: int) -> "LogStart":
        """The start after the events that follow this one's position are archived too;
        `hash_at`: the chain hash of the last of them; `floor`: the earliest position
        whose board a later decision needs (at least this start's floor)."""
        invariants = self._fold()
        trail = self.trail()
        tenants = self.tenant_trail()
        position = self.position
        for recorded in events:
            invariants.apply(recorded)
            trail.apply(recorded)
            if recorded.type in tenant_trail.TYPES:
                tenants.apply(recorded.type, recorded.position, recorded.data,
                              resources_of(trail))  # fmt: skip
            position = recorded.position
        statuses = {
            stream: status for stream, status in invariants.statuses.items() if status not in CLOSED
        }
        changes, assigned = trail.entries_after(floor)
        open_facts(tenants, statuses)
        return LogStart(position, hash_at, invariants.pools, invariants.algorithm, statuses,
                        floor, changes, assigned, tenants.entries_after(floor))  # fmt: skip

    def trail(self) -> PoolTrail:
        """The pools at this start, able to give the boards from its floor on."""
        rows = {row["pool_id"]: dict(row) for row in self.pools.values()}
        return PoolTrail.at(self.position, rows, self.changes, self.assigned, self.floor)

    def tenant_trail(self) -> TenantTrail:
        """The tenants at this start, able to give their state from its floor on."""
        if self.tenants is None:  # saved before the tenants were kept: not known there
            known = self.position == 0
            return TenantTrail(position=self.position, floor=self.floor, known=known)
        return TenantTrail.from_entries(self.tenants, self.position, self.floor)

    def start(self) -> Start:
        """Where a verification of the hot log begins."""
        pools = {stream: dict(row) for stream, row in self.pools.items()}
        return Start(self.position, self.hash, self.trail(), pools, self.algorithm,
                     dict(self.statuses), self.tenant_trail())  # fmt: skip

    def difference(self, folded: Invariants) -> str | None:
        """How this start differs from a fold of the log up to its position (None: it
        does not)."""
        if folded.algorithm != self.algorithm:
            return f"the algorithm is {folded.algorithm}, the start says {self.algorithm}"
        if list(folded.pools) != list(self.pools):
            return "its pools are not the log's pools in registration order"
        for stream, row in folded.pools.items():
            if dict(row) != dict(self.pools[stream]):
                return f"pool {stream} is {_differing(row, self.pools[stream])}"
        open_tasks = {s: v for s, v in folded.statuses.items() if v not in CLOSED}
        if open_tasks != dict(self.statuses):
            missing = open_tasks.keys() ^ self.statuses.keys()
            stream = min(missing) if missing else _first_differing(open_tasks, self.statuses)
            return (
                f"task {stream} is {open_tasks.get(stream, 'closed')} in the log, "
                f"{self.statuses.get(stream, 'closed')} in the start"
            )
        return None

    def _fold(self) -> Invariants:
        invariants = Invariants(AuditReport(), {s: dict(r) for s, r in self.pools.items()})
        invariants.algorithm = self.algorithm
        invariants.statuses.update(self.statuses)
        return invariants


def resources_of(trail: PoolTrail) -> Callable[[str], ResourceType | None]:
    """Each pool's resource type, as the pool trail holds it."""

    def resource_of(pool_id: str) -> ResourceType | None:
        row = trail.rows.get(pool_id)
        return None if row is None else ResourceType(row["resource_type"])

    return resource_of


def _differing(log: Mapping[str, Any], start: Mapping[str, Any]) -> str:
    for column in sorted(log.keys() | start.keys()):
        if log.get(column) != start.get(column):
            return f"{column}={log.get(column)!r} in the log, {start.get(column)!r} in the start"
    return "different"


def _first_differing(log: Mapping[str, TaskStatus], start: Mapping[str, TaskStatus]) -> str:
    return min(stream for stream in log if log[stream] != start[stream])
