"""A decision as the log keeps it (WorkerAssigned and TaskDeferred, schema 3): where its
inputs are and what it concluded, in a size that does not grow with the number of pools.

The scheduler decides on its board: the pools as the log stood at position `seen`, plus
the slots its own assignments had claimed and the log did not hold yet. Those assignments
are the scheduler run's (`run`) WorkerAssigned events after `seen` and before the decision
itself (the scheduler makes every one it depends on land first, or none: see AssignWorker's
`after`), so the pools it saw can be rebuilt from the log exactly. `digest`, a SHA-256 over
the task and every pool as seen, checks that rebuilding: a decision is recomputed only from
inputs that hash to what it recorded.

What it concluded: the rank keys of the chosen pool and the next best (at most RUNNERS_UP;
every ranking breaks ties by registration, so a key ends with its pool's registration
position and names the pool), and how many pools each filter removed."""

import base64
import hashlib
import heapq
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from domain.scheduling import tenant_stage
from domain.scheduling.algorithms import decide
from domain.scheduling.decision import Decision, FilterReason, PoolSnapshot, TaskSnapshot
from domain.scheduling.tenant_stage import TenantStage
from domain.values import Algorithm, ResourceType

RUNNERS_UP = 5
"""Ranked pools recorded after the chosen one."""

RankKey = tuple[float, ...]
REASONS = tuple(FilterReason)
SORTED_UP_TO = 64
"""Ranked pools a record sorts whole (more are taken from a heap)."""


@dataclass(frozen=True)
class DecisionRecord:
    algorithm: Algorithm
    algorithm_version: int
    priority: int
    region: str
    resource_type: ResourceType | None
    """The task's decision inputs (its id is the event's)."""
    seen: int
    """The log position whose pool states the scheduler decided on."""
    run: str
    """The scheduler run that decided: its assignments after `seen` were on its board."""
    pools: int
    """How many pools it saw."""
    digest: str
    """SHA-256 (URL-safe base64) of the task and every pool as seen (`input_digest`)."""
    ranked: tuple[RankKey, ...]
    """The rank keys of the chosen pool and the next best, best first (each ends with its
    pool's registration); empty when no pool could take the task."""
    filtered: tuple[tuple[FilterReason, int], ...]
    """How many pools each filter removed, in FilterReason order (reasons with none left
    out)."""
    summary: str
    tenants: TenantStage | None = None
    """The fair-share stage that chose the task's tenant (None: it had no choice to make;
    see `domain.scheduling.tenant_stage`). Schema 4."""

    def about(self, task: TaskSnapshot) -> bool:
        """Whether the record's task inputs are this task's."""
        return (self.priority, self.region, self.resource_type) == (
            task.priority,
            task.region,
            task.resource_type,
        )

    def task_snapshot(self, task_id: str) -> TaskSnapshot:
        return TaskSnapshot(task_id, self.priority, self.region, self.resource_type)

    @property
    def chose(self) -> bool:
        return bool(self.ranked)


def record_of(decision: Decision, seen: int, run: str, digest: str | None = None) -> DecisionRecord:
    """The record of a decision made on the pools as the log stood at `seen`, plus the run's
    own claims the log did not hold yet. `digest`: its `input_digest`, if known already."""
    keys = [key for key in decision.rank_keys if key]
    ranked = sorted(keys) if len(keys) <= SORTED_UP_TO else heapq.nsmallest(RUNNERS_UP + 1, keys)
    counts = Counter(decision.verdicts)
    task = decision.task
    return DecisionRecord(
        decision.algorithm,
        decision.algorithm_version,
        task.priority,
        task.region,
        task.resource_type,
        seen,
        run,
        len(decision.pools),
        digest or input_digest(task, decision.pools),
        tuple(ranked[: RUNNERS_UP + 1]),
        tuple([(reason, counts[reason]) for reason in REASONS if reason in counts]),
        decision.summary,
    )


def input_digest(task: TaskSnapshot, pools: Iterable[PoolSnapshot]) -> str:
    """SHA-256 over the task's line and the SHA-256 of each pool's line (`pool_hash`), the
    pools in registration order: a commitment to every field of every pool as seen, whose
    per-pool parts a scheduler can keep as its pools change."""
    return digest_of(task, [pool_hash(pool) for pool in sorted(pools, key=_registration)])


def digest_of(task: TaskSnapshot, pool_hashes: Iterable[bytes]) -> str:
    """`input_digest` from the pools' hashes, in registration order."""
    kind = task.resource_type or ""
    digest = hashlib.sha256(
        f"{task.task_id}\x1f{task.priority}\x1f{task.region}\x1f{kind}\n".encode()
    )
    digest.update(b"".join(pool_hashes))
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def pool_hash(pool: PoolSnapshot) -> bytes:
    """SHA-256 of a pool's state: its fields separated by US (0x1f), numbers in their
    shortest exact form."""
    line = (
        f"{pool.pool_id}\x1f{pool.name}\x1f{pool.region}\x1f{pool.resource_type}\x1f"
        f"{float(pool.cost_per_unit)!r}\x1f{pool.capacity}\x1f{pool.load}\x1f"
        f"{pool.registration}\x1f{int(pool.draining)}"
    )
    return hashlib.sha256(line.encode()).digest()


def _registration(pool: PoolSnapshot) -> int:
    return pool.registration


def decide_again(
    record: DecisionRecord, task_id: str, inputs: Sequence[tuple[PoolSnapshot, bytes]]
) -> tuple[Decision, str | None]:
    """The decision a record stands for, made again by its algorithm version on the pools
    rebuilt for it (each with its `pool_hash`), and how the record of that differs from
    the recorded one (None if it does not: inputs and outcome match)."""
    task = record.task_snapshot(task_id)
    again = decide(record.algorithm, task, [pool for pool, _ in inputs], record.algorithm_version)
    digest = digest_of(task, [hashed for _, hashed in inputs])
    remade = replace(record_of(again, record.seen, record.run, digest), tenants=record.tenants)
    stage = None if record.tenants is None else tenant_stage.again(record.tenants)
    return again, stage or difference(record, remade)


def difference(recorded: DecisionRecord, again: DecisionRecord) -> str | None:
    """How a decision recomputed from rebuilt inputs differs from its record (None if it
    does not): first whether the inputs hash to the recorded digest, then the first pool
    or count that differs, as far as the record can tell."""
    if again == recorded:
        return None
    detail = _first_difference(recorded, again)
    if again.digest != recorded.digest:
        inputs = (
            f"the pools the log gives at position {recorded.seen} do not hash to the "
            "recorded digest"
        )
        return inputs if detail is None else f"{inputs}; {detail}"
    return detail or "the record differs from its recomputation"


def _first_difference(recorded: DecisionRecord, again: DecisionRecord) -> str | None:
    if again.pools != recorded.pools:
        return f"it saw {recorded.pools} pools, the log gives {again.pools}"
    for index, (was, now) in enumerate(zip(recorded.ranked, again.ranked, strict=False)):
        if was != now:
            place = "chosen pool" if index == 0 else f"runner-up {index}"
            return (
                f"{place} recorded: the pool registered at {was[-1]:g}, key {list(was)}; "
                f"recomputed: the pool registered at {now[-1]:g}, key {list(now)}"
            )
    if len(again.ranked) != len(recorded.ranked):
        return f"{len(recorded.ranked)} pools ranked, recomputed {len(again.ranked)}"
    if again.filtered != recorded.filtered:
        return f"filtered {_counts(recorded.filtered)}, recomputed {_counts(again.filtered)}"
    for name in ("summary", "algorithm", "algorithm_version", "priority", "region"):
        was, now = getattr(recorded, name), getattr(again, name)
        if was != now:
            return f"{name} recorded {was!r}, recomputed {now!r}"
    return None


def _counts(filtered: Sequence[tuple[FilterReason, int]]) -> str:
    return ", ".join(f"{count} {reason}" for reason, count in filtered) or "none"
