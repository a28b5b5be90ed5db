"""Verifying the log in two parts at once (one per core), with the same findings as one
pass from position 0.

The second part starts where the first ends, at `split`. Its pools (and the algorithm in
use) are folded from the pool, assignment and switch events before the split, through the
trail a whole pass uses, so every decision after it is rebuilt alike and the invariants
start from the same pool rows. The tasks' statuses there are the first part's to know: each
task event the second part meets for a task it has not seen is kept as an `Assumed` (the
statuses the task must have been in), and `joined` checks those against the first part's
final statuses. The second part's chain walk starts from the hash stored at the split,
which the first part's walk checks."""

from collections.abc import Callable
from dataclasses import dataclass

from application.audit import tenant_trail
from application.audit.chain import ChainReport
from application.audit.decision_inputs import TYPES as TRAIL_TYPES
from application.audit.log_start import LogStart, resources_of
from application.audit.verify import (
    MAX_LISTED,
    PAGE,
    SWITCHED,
    Assumed,
    AuditReport,
    CheckedLog,
    Finding,
    Start,
    Verification,
    not_allowed,
)
from application.errors import CorruptEvent
from domain.events import WorkerPoolRegistered
from domain.values import Algorithm, TaskStatus

REGISTERED = WorkerPoolRegistered.type_name()
WARM_UP_TYPES = TRAIL_TYPES | {SWITCHED} | tenant_trail.NEEDED
MISSING = "missing"
"""The hash a second part starts from when the split's own row is gone (the first part's
walk reports that break)."""


@dataclass(frozen=True)
class Part:
    """One part's findings, the statuses of the tasks it saw as it ends, and what it
    assumed of tasks it met without seeing them begin."""

    report: AuditReport
    statuses: dict[str, TaskStatus]
    assumed: list[Assumed]


def verify_part(
    log: CheckedLog,
    after: int,
    up_to: int,
    progress: Callable[[int], None] | None = None,
    base: LogStart | None = None,
) -> Part:
    """Verify the events at positions (after, up_to] of the log that starts at `base`
    (at 0 if None); `progress` gets the events checked so far after each page."""
    base = base or LogStart()
    begin = base.start() if after == base.position else start_at(log, after, base)
    verification = Verification(None if after == 0 else begin)
    position = after
    while position < up_to:
        page, position = verification.next_page(log, position, up_to)
        if progress is not None:
            progress(verification.report.events_checked)
        if not page:
            break
    invariants = verification.invariants
    return Part(verification.finished(up_to), invariants.statuses, invariants.assumed or [])


def start_at(log: CheckedLog, split: int, base: LogStart) -> Start:
    """The pools as the log stands at `split`, folded from the events after its start."""
    trail = base.trail()
    tenants = base.tenant_trail()
    resource_of = resources_of(trail)
    streams = {row["pool_id"]: stream for stream, row in base.pools.items()}
    """Each pool's stream, by pool id."""
    algorithm = base.algorithm
    after = base.position
    while page := log.read_checked(after, PAGE, split, WARM_UP_TYPES):
        for recorded in page:
            try:
                if recorded.type in tenant_trail.TYPES:
                    tenants.apply(recorded.type, recorded.position, recorded.data, resource_of)
                if recorded.type == SWITCHED:
                    algorithm = Algorithm(recorded.data["algorithm"])
                    continue
                trail.apply(recorded)
            except CorruptEvent:
                continue  # reported by the first part
            if recorded.type == REGISTERED:
                streams[recorded.data["pool_id"]] = recorded.stream_id
        after = page[-1].position
    trail.position = split  # where the part's first decision is checked from, as in one pass
    at_split = log.read_checked(split - 1, 1, split)
    stored = at_split[0].hash if at_split else MISSING
    rows = {streams[pool_id]: dict(row) for pool_id, row in trail.rows.items()}
    tenants.position = split
    return Start(split, stored, trail, rows, algorithm, tenants=tenants)


def joined(first: Part, second: Part) -> AuditReport:
    """The report of the whole log from its two parts: the second's assumptions checked
    against the first's statuses, counts added, findings listed in position order."""
    one, two = first.report, second.report
    broken = [
        Finding(assumed.position, assumed.stream_id, not_allowed(assumed.type, status))
        for assumed in second.assumed
        if (status := first.statuses.get(assumed.stream_id)) not in assumed.allowed
    ]
    return AuditReport(
        head=two.head,
        events_checked=one.events_checked + two.events_checked,
        decisions_checked=one.decisions_checked + two.decisions_checked,
        preemptions_checked=one.preemptions_checked + two.preemptions_checked,
        tenant_checks_skipped=one.tenant_checks_skipped + two.tenant_checks_skipped,
        snapshots_checked=one.snapshots_checked + two.snapshots_checked,
        mismatch_count=one.mismatch_count + two.mismatch_count,
        violation_count=one.violation_count + two.violation_count + len(broken),
        corrupt_count=one.corrupt_count + two.corrupt_count,
        mismatches=_listed(one.mismatches, two.mismatches),
        violations=_listed(one.violations, sorted(two.violations + broken, key=_position)),
        corrupt=_listed(one.corrupt, two.corrupt),
        chain=_chain(one.chain, two.chain),
    )


def _listed(first: list[Finding], second: list[Finding]) -> list[Finding]:
    return (first + second)[:MAX_LISTED]


def _position(finding: Finding) -> int:
    return finding.position


def _chain(first: ChainReport | None, second: ChainReport | None) -> ChainReport | None:
    if first is None or first.first_broken is not None:
        return first
    return second
