"""The three scheduling algorithms, as pure functions of their recorded inputs.

Every algorithm first filters (resource type, then free capacity), prefers the task's
region when any pool there can take it, and otherwise falls back to every pool that can.
They differ only in how the remaining pools are ranked.

Each algorithm is versioned: a change to its logic is a new entry in `RANKINGS`, and the
old entries stay, so a decision recorded under any version can be recomputed by the code
that made it (`decide(..., version=recorded.algorithm_version)`).
"""

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from domain.errors import UnknownAlgorithmVersion
from domain.scheduling.decision import (
    Decision,
    FilterReason,
    PoolSnapshot,
    TaskSnapshot,
)
from domain.values import Algorithm

WRONG_TYPE = FilterReason.WRONG_RESOURCE_TYPE
AT_CAPACITY = FilterReason.AT_CAPACITY
DRAINING = FilterReason.DRAINING
OTHER_REGION = FilterReason.OTHER_REGION

HIGH_PRIORITY = 7
MEDIUM_PRIORITY = 4

RankKey = tuple[float, ...]
KeyOf = Callable[[PoolSnapshot], RankKey]


@dataclass(frozen=True)
class Ranking:
    """One version of an algorithm: for a task, the names of its rank key's parts and the
    key of a pool (lowest ranks first), and the reason it gives for the pool it chose."""

    order: Callable[[TaskSnapshot], tuple[tuple[str, ...], KeyOf]]
    reason: Callable[[TaskSnapshot, PoolSnapshot], str]


def decide(
    algorithm: Algorithm,
    task: TaskSnapshot,
    pools: Sequence[PoolSnapshot],
    version: int | None = None,
) -> Decision:
    """Choose a pool for the task, or explain why none can take it, with the algorithm's
    current version unless another is named. One pass over the pools records every
    verdict; ranking computes keys only for the pools in contention."""
    version = ALGORITHM_VERSIONS[algorithm] if version is None else version
    ranking = ranking_of(algorithm, version)
    required, region = task.resource_type, task.region
    verdicts: list[FilterReason | None] = []
    open_pools: list[int] = []
    in_region: list[int] = []
    for index, pool in enumerate(pools):
        if required is not None and pool.resource_type != required:
            verdicts.append(WRONG_TYPE)
        elif pool.draining:
            verdicts.append(DRAINING)
        elif pool.capacity <= pool.load:
            verdicts.append(AT_CAPACITY)
        else:
            verdicts.append(None)
            open_pools.append(index)
            if pool.region == region:
                in_region.append(index)
    if in_region and len(in_region) < len(open_pools):
        for index in open_pools:
            if pools[index].region != region:
                verdicts[index] = OTHER_REGION
    contenders = in_region or open_pools
    _, rank_key = ranking.order(task)
    rank_keys: list[tuple[float, ...] | None] = [None] * len(pools)
    for index in contenders:
        rank_keys[index] = rank_key(pools[index])
    snapshot = tuple(pools)
    if not contenders:
        summary = _no_pool_summary(len(pools), verdicts)
        return Decision(algorithm, version, task, snapshot, tuple(verdicts), tuple(rank_keys),
                        None, summary)  # fmt: skip
    best = min(contenders, key=lambda index: rank_keys[index] or ())
    chosen = pools[best]
    scope = (
        f"in {task.region}" if in_region else f"outside {task.region} (none free in {task.region})"
    )
    summary = (
        f"{algorithm} v{version} chose {chosen.name}: "
        f"{ranking.reason(task, chosen)} of {len(contenders)} {scope} with free capacity"
    )
    return Decision(algorithm, version, task, snapshot, tuple(verdicts), tuple(rank_keys),
                    chosen.pool_id, summary)  # fmt: skip


def ranking_of(algorithm: Algorithm, version: int) -> Ranking:
    ranking = RANKINGS.get((algorithm, version))
    if ranking is None:
        raise UnknownAlgorithmVersion(str(algorithm), version)
    return ranking


def rank_key_names(algorithm: Algorithm, version: int, task: TaskSnapshot) -> tuple[str, ...]:
    """What each part of a recorded rank key is ("-" marks a part ranked highest first)."""
    names, _ = ranking_of(algorithm, version).order(task)
    return names


def _fifo_v1(task: TaskSnapshot) -> tuple[tuple[str, ...], KeyOf]:
    return ("registration",), lambda pool: (pool.registration,)


def _cheapest(task: TaskSnapshot) -> tuple[tuple[str, ...], KeyOf]:
    return ("cost_per_unit", "registration"), lambda pool: (pool.cost_per_unit, pool.registration)


def _priority_v1(task: TaskSnapshot) -> tuple[tuple[str, ...], KeyOf]:
    if task.priority >= HIGH_PRIORITY:
        return _cheapest(task)
    if task.priority >= MEDIUM_PRIORITY:
        return (
            ("cost_per_unit", "-capacity", "registration"),
            lambda pool: (pool.cost_per_unit, -pool.capacity, pool.registration),
        )
    return ("-free", "registration"), lambda pool: (-pool.free, pool.registration)


def _priority_reason_v1(task: TaskSnapshot, chosen: PoolSnapshot) -> str:
    cost = f"{chosen.cost_per_unit:g}"
    if task.priority >= HIGH_PRIORITY:
        return f"priority {task.priority} takes the cheapest ({cost})"
    if task.priority >= MEDIUM_PRIORITY:
        return (
            f"priority {task.priority} takes the cheapest ({cost}, "
            f"larger capacity on ties: {chosen.capacity})"
        )
    return f"priority {task.priority} takes the most free capacity ({chosen.free} free)"


RANKINGS: dict[tuple[Algorithm, int], Ranking] = {
    (Algorithm.FIFO, 1): Ranking(_fifo_v1, lambda task, chosen: "first registered"),
    (Algorithm.PRIORITY, 1): Ranking(_priority_v1, _priority_reason_v1),
    (Algorithm.MIN_COST, 1): Ranking(
        _cheapest, lambda task, chosen: f"cheapest ({chosen.cost_per_unit:g})"
    ),
}
"""Every version of every algorithm ever recorded: add new versions, never remove one."""

ALGORITHM_VERSIONS: dict[Algorithm, int] = {
    algorithm: max(version for known, version in RANKINGS if known is algorithm)
    for algorithm in Algorithm
}
"""The version each algorithm decides with now."""


def _no_pool_summary(total: int, verdicts: Sequence[FilterReason | None]) -> str:
    if total == 0:
        return "0/0 pools available: no worker pools registered"
    counts = Counter(verdicts)
    parts = [
        f"{counts[reason]} {reason}"
        for reason in (FilterReason.AT_CAPACITY, FilterReason.DRAINING, WRONG_TYPE)
        if counts[reason]
    ]
    return f"0/{total} pools available: " + ", ".join(parts)
