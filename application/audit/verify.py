"""Verifying the log: every recorded decision recomputed from its recorded inputs by the
algorithm version that made it, the domain invariants checked at every step of a fold
from position 0, and the hash chain walked for tampering, all in one pass over the log."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple, Protocol

from application.audit import snapshot_check
from application.audit.chain import ChainReport, ChainWalk, Linked
from application.audit.decision_inputs import PoolTrail, TooOld
from application.audit.snapshot_check import CheckedSnapshot
from application.audit.tenant_audit import over_cap, preemption_findings, stage_difference
from application.audit.tenant_trail import TenantTrail, TooFarBack
from application.errors import CorruptEvent
from application.read_models import pools
from application.read_models.record import Recorded, Row
from domain.errors import UnknownAlgorithmVersion
from domain.events import (
    AlgorithmSwitched,
    DomainEvent,
    TaskDeferred,
    TaskPreempted,
    WorkerAssigned,
)
from domain.scheduler_config import SchedulerConfig
from domain.scheduling import Decision, DecisionRecord, PoolSnapshot, decide
from domain.scheduling.record import decide_again
from domain.task import status_move
from domain.values import Algorithm, ResourceType, TaskStatus

Progress = Callable[[str, int, int], None]
"""(phase, done, total)"""

PAGE = 5000
MAX_LISTED = 100
"""Findings listed in a report at most (all are counted)."""


class Checked(Recorded, Linked, Protocol):
    """A stored event as verification reads it: its data, its decoded event and its
    place in the hash chain."""

    @property
    def stream_id(self) -> str: ...

    @property
    def event(self) -> DomainEvent: ...


class CheckedLog(Protocol):
    def head(self) -> int: ...

    def read_checked(
        self,
        after_position: int,
        limit: int,
        up_to: int | None = None,
        types: frozenset[str] | None = None,
    ) -> Sequence[Checked]:
        """The log after a position (up to `up_to`; only the events of `types`, if given),
        in position order, at most `limit` events. A row that cannot be read raises
        CorruptEvent when its data is first asked for."""
        ...

    def snapshots(self, after_position: int, up_to: int) -> Sequence[CheckedSnapshot]:
        """The stored snapshots that stand at positions (after_position, up_to]."""
        ...

    def stream_events(self, stream_id: str, up_to_version: int) -> list[DomainEvent]:
        """A stream's events, versions 1..up_to_version."""
        ...


@dataclass(frozen=True)
class Finding:
    position: int
    stream_id: str
    detail: str


@dataclass
class AuditReport:
    head: int = 0
    events_checked: int = 0
    decisions_checked: int = 0
    preemptions_checked: int = 0
    tenant_checks_skipped: int = 0
    """Placements and preemptions whose tenants' state could not be known: the log starts
    at a cut saved before the tenants were kept there (see `TenantTrail.known`)."""
    snapshots_checked: int = 0
    mismatch_count: int = 0
    violation_count: int = 0
    corrupt_count: int = 0
    mismatches: list[Finding] = field(default_factory=list)
    violations: list[Finding] = field(default_factory=list)
    corrupt: list[Finding] = field(default_factory=list)
    """Stored events that cannot be read back (their time, payload or fields)."""
    chain: ChainReport | None = None

    @property
    def ok(self) -> bool:
        chain_ok = self.chain is None or self.chain.first_broken is None
        findings = self.mismatch_count + self.violation_count + self.corrupt_count
        return chain_ok and findings == 0

    def unreadable(self, error: CorruptEvent) -> None:
        self.corrupt_count += 1
        if len(self.corrupt) < MAX_LISTED:
            self.corrupt.append(Finding(error.position, error.stream_id, error.reason))

    def mismatch(self, recorded: Checked, detail: str) -> None:
        self.mismatch_count += 1
        if len(self.mismatches) < MAX_LISTED:
            self.mismatches.append(Finding(recorded.position, recorded.stream_id, detail))

    def snapshot_mismatch(self, snapshot: CheckedSnapshot, detail: str) -> None:
        self.mismatch_count += 1
        if len(self.mismatches) < MAX_LISTED:
            at = f"snapshot at version {snapshot.version}: {detail}"
            self.mismatches.append(Finding(snapshot.position, snapshot.stream_id, at))

    def violation(self, recorded: Checked, detail: str) -> None:
        self.violation_count += 1
        if len(self.violations) < MAX_LISTED:
            self.violations.append(Finding(recorded.position, recorded.stream_id, detail))


class Anchor(Protocol):
    """A stored account of the log at a position (the hot log's start): checked against
    the fold there when a verification passes it."""

    @property
    def position(self) -> int: ...

    @property
    def hash(self) -> str: ...

    def difference(self, folded: "Invariants") -> str | None: ...


def verify_log(
    store: CheckedLog,
    progress: Progress | None = None,
    start: "Start | None" = None,
    anchor: Anchor | None = None,
) -> AuditReport:
    """The log verified in one pass (see `Verification`): from position 0, or on from
    `start`; passing `anchor`'s position, the fold there is checked against it."""
    head = store.head()
    verification = Verification(start)
    after = 0 if start is None else start.position
    stop = None if anchor is None or anchor.position <= after else anchor.position
    while True:
        page, after = verification.next_page(store, after, stop)
        if progress is not None:
            progress("verifying", verification.report.events_checked, head)
        if stop is not None and after >= stop:
            verification.check_anchor(anchor)  # type: ignore[arg-type]
            stop = None
        elif not page:
            return verification.finished(head)


@dataclass(frozen=True)
class Start:
    """Where a verification of part of the log starts: after `position`, whose stored hash
    is `hash`, with the pools as the log stood there (the trail for decisions, the rows for
    the invariants), the tasks' statuses there, by stream (None: not known, see
    `Invariants`; known, a task missing from them is closed or not yet submitted), and the
    tenants there (see `TenantTrail`)."""

    position: int
    hash: str
    trail: PoolTrail
    pools: dict[str, Row]
    algorithm: Algorithm
    statuses: dict[str, TaskStatus] | None = None
    tenants: TenantTrail | None = None


class Verification:
    """Checks the log event by event, in order: its place in the hash chain (see
    `ChainWalk`), each decision recomputed from its inputs (see `recompute`) and the
    domain invariants folded (see `Invariants`); from position 0, or from a `Start`."""

    def __init__(self, start: Start | None = None) -> None:
        self.report = AuditReport()
        if start is None:
            self._chain = ChainWalk()
            self._trail = PoolTrail()
            self.invariants = Invariants(self.report)
            self.tenants = TenantTrail()
        else:
            self._chain = ChainWalk(start.position, start.hash)
            self._trail = start.trail
            self.tenants = start.tenants or TenantTrail(position=start.position)
            known = start.statuses is not None
            self.invariants = Invariants(self.report, start.pools, tasks_known=known)
            self.invariants.statuses.update(start.statuses or {})
            self.invariants.algorithm = start.algorithm
        self._resources: dict[str, ResourceType] = {}

    def next_page(
        self, store: CheckedLog, after: int, up_to: int | None = None
    ) -> tuple[Sequence[Checked], int]:
        """Read and check the next page of events after `after` (up to `up_to`): (the page,
        the position checked up to). A row that cannot be read is reported and passed."""
        page = store.read_checked(after, PAGE, up_to)
        if not page:
            return page, after
        last = page[-1].position
        due = {snapshot.position: snapshot for snapshot in store.snapshots(after, last)}
        for recorded in page:
            self.check(recorded)
            if due and (snapshot := due.get(recorded.position)) is not None:
                self._check_snapshot(store, snapshot, recorded)
        self.report.events_checked += len(page)
        return page, last

    def _check_snapshot(self, store: CheckedLog, snapshot: CheckedSnapshot, at: Checked) -> None:
        """The snapshot that stands at the event just checked, against the fold there."""
        self.report.snapshots_checked += 1
        if snapshot.stream_id != at.stream_id:
            problem: str | None = f"it stands at an event of {at.stream_id}"
        else:
            problem = snapshot_check.difference(
                snapshot,
                self.invariants.pools.get(snapshot.stream_id),
                self.invariants.algorithm,
                lambda: store.stream_events(snapshot.stream_id, snapshot.version),
            )
        if problem is not None:
            self.report.snapshot_mismatch(snapshot, problem)

    def check(self, recorded: Checked) -> None:
        """One event. An event whose payload cannot be read is reported and passed; a
        decision whose payload reads but does not decode is reported, and its payload
        folded still (as `split.start_at` folds it)."""
        self._chain.step(recorded)
        try:
            _ = recorded.data  # parsed once here, kept on the event
        except CorruptEvent as error:
            self.report.unreadable(error)
            return
        if recorded.type in DECISIONS:
            try:
                board = recompute(recorded, self.report, self._trail)
                if recorded.type == ASSIGNED:
                    self._check_placement(recorded, board)
            except CorruptEvent as error:
                self.report.unreadable(error)
        elif recorded.type == PREEMPTED:
            self._check_preemption(recorded)
        self.invariants.apply(recorded)
        self._trail.apply(recorded)
        fold = TENANT_FOLDS.get(recorded.type)
        if fold is not None:
            fold(self.tenants, recorded.position, recorded.data, self._resource_of)

    def _resource_of(self, pool_id: str) -> ResourceType | None:
        """A pool's resource type (which never changes), from its row."""
        resource = self._resources.get(pool_id)
        if resource is None and (row := self._trail.rows.get(pool_id)) is not None:
            resource = self._resources[pool_id] = ResourceType(row["resource_type"])
        return resource

    def _check_placement(self, recorded: Checked, board: list[PoolSnapshot] | None) -> None:
        """An assignment's tenant stage against the tenants its decision saw, and its
        tenant's quota plus borrowing (see `tenant_audit`)."""
        event = recorded.event
        assert isinstance(event, WorkerAssigned)
        record = event.decision
        stage = record.tenants if isinstance(record, DecisionRecord) else None
        if stage is None and not self.tenants.capped:
            return  # no stage to check, and no tenant has had a limit to pass
        seen = record.seen if isinstance(record, DecisionRecord) else recorded.position
        tenant = self.tenants.facts.get(event.task_id)
        if stage is not None and tenant is not None and stage.chosen != tenant.tenant:
            self.report.mismatch(
                recorded, f"the tenant stage chose {stage.chosen}, the task is {tenant.tenant}'s"
            )
        if not self.tenants.known:
            self.report.tenant_checks_skipped += 1
            return
        if isinstance(record, DecisionRecord) and record.tenants is not None and board:
            try:
                state = self.tenants.at(record.seen, record.run)
            except TooFarBack as error:
                self.report.mismatch(recorded, f"its tenants cannot be rebuilt: {error}")
            else:
                problem = stage_difference(record.tenants, state, board, record.seen)
                if problem is not None:
                    self.report.mismatch(recorded, problem)
        resource = self._resource_of(event.pool_id)
        if resource is not None:
            broken = over_cap(self.tenants, event.task_id, resource, seen)
            if broken is not None:
                self.report.violation(recorded, broken)

    def _check_preemption(self, recorded: Checked) -> None:
        """A preemption's rules, and its victim chosen again on the state it saw."""
        data = recorded.data
        if not self.tenants.known:
            self.report.tenant_checks_skipped += 1
            return
        self.report.preemptions_checked += 1
        try:
            inputs = self._trail.inputs(data["seen"], recorded.position, data["run"])
            broken, problem = preemption_findings(data, self.tenants, [pool for pool, _ in inputs])
        except (TooOld, TooFarBack) as error:
            broken, problem = None, f"the state it saw cannot be rebuilt: {error}"
        if broken is not None:
            self.report.violation(recorded, broken)
        if problem is not None:
            self.report.mismatch(recorded, problem)

    def check_anchor(self, anchor: Anchor) -> None:
        """The log as folded so far (up to the anchor's position) against the anchor."""
        self.report.snapshots_checked += 1
        chain = self._chain.report
        if chain.first_broken is None and chain.head_hash != anchor.hash:
            problem: str | None = f"its chain hash is {anchor.hash}, the log's {chain.head_hash}"
        else:
            problem = anchor.difference(self.invariants)
        if problem is not None:
            self.report.mismatch_count += 1
            if len(self.report.mismatches) < MAX_LISTED:
                at = f"the log's start: {problem}"
                self.report.mismatches.append(Finding(anchor.position, "log_start", at))

    def finished(self, head: int) -> AuditReport:
        """The report so far, as of `head`, with the chain as walked."""
        return replace(
            self.report,
            head=head,
            mismatches=list(self.report.mismatches),
            violations=list(self.report.violations),
            corrupt=list(self.report.corrupt),
            chain=self._chain.report,
        )


TENANT_FOLDS = TenantTrail.folds()
ASSIGNED = WorkerAssigned.type_name()
DECISIONS = frozenset({ASSIGNED, TaskDeferred.type_name()})
PREEMPTED = TaskPreempted.type_name()
SWITCHED = AlgorithmSwitched.type_name()


def recompute(
    recorded: Checked, report: AuditReport, trail: PoolTrail
) -> list[PoolSnapshot] | None:
    """The recorded decision must be exactly what its algorithm version computes again:
    from the pools it recorded (schemas 1 and 2), or from the board rebuilt from the log
    before it, checked against its digest (schema 3). The board it was made on (None if
    it cannot be rebuilt)."""
    event = recorded.event
    assert isinstance(event, WorkerAssigned | TaskDeferred)
    report.decisions_checked += 1
    board: list[PoolSnapshot] | None = None
    try:
        problem, chose, board = _again(event, recorded.position, trail)
    except UnknownAlgorithmVersion as error:
        problem, chose = str(error), None
    if problem is not None:
        report.mismatch(recorded, problem)
    elif isinstance(event, WorkerAssigned) and event.pool_id != chose:
        report.mismatch(recorded, f"assigned to {event.pool_id} but the decision chose {chose}")
    elif isinstance(event, TaskDeferred) and chose is not None:
        report.mismatch(recorded, f"deferred although the decision chose {chose}")
    return board


def _again(
    event: WorkerAssigned | TaskDeferred, position: int, trail: PoolTrail
) -> tuple[str | None, str | None, list[PoolSnapshot] | None]:
    """How the decision recomputed differs from the recorded one (None if it does not),
    the pool it chooses and the board it was made on."""
    record = event.decision
    if isinstance(record, Decision):
        again = decide(record.algorithm, record.task, record.pools, record.algorithm_version)
        problem = None if again == record else _difference(record, again)
        return problem, record.chosen_pool_id, list(record.pools)
    try:
        inputs = trail.inputs(record.seen, position, record.run)
    except TooOld as error:
        return f"its inputs cannot be rebuilt: {error}", None, None
    again, problem = decide_again(record, event.task_id, inputs)
    return problem, again.chosen_pool_id, [pool for pool, _ in inputs]


def _difference(recorded: Decision, again: Decision) -> str:
    for name in ("chosen_pool_id", "summary", "verdicts", "rank_keys"):
        if getattr(recorded, name) != getattr(again, name):
            return (
                f"{name} recorded {getattr(recorded, name)!r}, recomputed {getattr(again, name)!r}"
            )
    return "the recomputed decision differs from the recorded one"


class Assumed(NamedTuple):
    """A task event met by a part of the log that had not seen the task before it: the
    statuses the task must have been in where the part starts (see `application.audit.
    split`). A tuple: a part sends one for each task it saw begin."""

    position: int
    stream_id: str
    type: str
    allowed: frozenset[TaskStatus | None]


class Invariants:
    """Folds the log checking, at every event: no pool above capacity or below zero load,
    no slot claimed in a draining pool, and every task event allowed by the status the
    task was in (so no task is assigned twice for one attempt and nothing but an
    operator's retry leaves a final status). Tasks move by the domain's status rule and
    pools by the pool row's fold, as the read models do.

    Folding from the middle of the log (`pools`: the pool rows there, `tasks_known`
    False), a task's first event is kept as an `Assumed` instead of checked."""

    def __init__(
        self, report: AuditReport, pools: dict[str, Row] | None = None, tasks_known: bool = True
    ) -> None:
        self._report = report
        self.pools: dict[str, Row] = {} if pools is None else pools
        """Each pool's row, by its stream."""
        self.statuses: dict[str, TaskStatus] = {}
        """Each task's status, by its stream."""
        self.assumed: list[Assumed] | None = None if tasks_known else []
        self.algorithm = SchedulerConfig().algorithm
        """The algorithm switched to last."""

    def apply(self, recorded: Checked) -> None:
        moved = status_move(recorded.type, recorded.data)
        if moved is not None:
            self._task(recorded, *moved)
        elif recorded.type == "WorkerPoolRegistered":
            self.pools[recorded.stream_id] = pools.start(recorded)
        elif recorded.type == SWITCHED:
            self.algorithm = Algorithm(recorded.data["algorithm"])
        elif pools.CHANGES[recorded.type] is not pools.unchanged:
            self._pool(recorded)

    def _task(self, recorded: Checked, allowed: frozenset[TaskStatus | None],
              to: TaskStatus) -> None:  # fmt: skip
        task_id = recorded.stream_id
        status = self.statuses.get(task_id)
        if status is None and self.assumed is not None:
            self.assumed.append(Assumed(recorded.position, task_id, recorded.type, allowed))
        elif status not in allowed:
            self._report.violation(recorded, not_allowed(recorded.type, status))
        self.statuses[task_id] = to

    def _pool(self, recorded: Checked) -> None:
        pool = self.pools.get(recorded.stream_id)
        if pool is None:
            self._report.violation(recorded, f"{recorded.type} before the pool was registered")
            return
        changes = pools.fold(recorded, pool)
        claimed = changes.get("current_load", 0) > pool["current_load"]
        if claimed and pool["draining"]:
            self._report.violation(recorded, "slot claimed while the pool was draining")
        pool.update(changes)
        load, capacity = pool["current_load"], pool["capacity"]
        if load > capacity:
            self._report.violation(recorded, f"pool load {load} above capacity {capacity}")
        elif load < 0:
            self._report.violation(recorded, f"pool load {load} below zero")


def not_allowed(kind: str, status: TaskStatus | None) -> str:
    """Why an event of type `kind` may not happen to a task in `status`."""
    if status is not None and status.terminal:
        return f"{kind} after the task was {status}"
    if kind == WorkerAssigned.type_name():
        return f"assigned again while {status}"
    return f"{kind} while the task was {status or 'unknown'}"
