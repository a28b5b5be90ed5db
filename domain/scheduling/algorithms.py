"""The three scheduling algorithms, as pure functions of their recorded inputs.

Every algorithm first filters (resource type, then free capacity), prefers the task's
region when any pool there can take it, and otherwise falls back to every pool that can.
They differ only in how the remaining pools are ranked.
"""

from collections import Counter
from collections.abc import Callable, Sequence

from domain.scheduling.decision import (
    Decision,
    FilterReason,
    PoolSnapshot,
    TaskSnapshot,
)
from domain.values import Algorithm

ALGORITHM_VERSIONS: dict[Algorithm, int] = {
    Algorithm.FIFO: 1,
    Algorithm.PRIORITY: 1,
    Algorithm.MIN_COST: 1,
}

WRONG_TYPE = FilterReason.WRONG_RESOURCE_TYPE
AT_CAPACITY = FilterReason.AT_CAPACITY
OTHER_REGION = FilterReason.OTHER_REGION

HIGH_PRIORITY = 7
MEDIUM_PRIORITY = 4

RankKey = tuple[float, ...]


def decide(algorithm: Algorithm, task: TaskSnapshot, pools: Sequence[PoolSnapshot]) -> Decision:
    """Choose a pool for the task, or explain why none can take it. One pass over the
    pools records every verdict; ranking computes keys only for the pools in contention."""
    required, region = task.resource_type, task.region
    verdicts: list[FilterReason | None] = []
    open_pools: list[int] = []
    in_region: list[int] = []
    for index, pool in enumerate(pools):
        if required is not None and pool.resource_type != required:
            verdicts.append(WRONG_TYPE)
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
    rank_key = _ranking(algorithm, task)
    rank_keys: list[tuple[float, ...] | None] = [None] * len(pools)
    for index in contenders:
        rank_keys[index] = rank_key(pools[index])
    version = ALGORITHM_VERSIONS[algorithm]
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
        f"{_reason(algorithm, task, chosen)} of {len(contenders)} {scope} with free capacity"
    )
    return Decision(algorithm, version, task, snapshot, tuple(verdicts), tuple(rank_keys),
                    chosen.pool_id, summary)  # fmt: skip


def _ranking(algorithm: Algorithm, task: TaskSnapshot) -> Callable[[PoolSnapshot], RankKey]:
    if algorithm is Algorithm.FIFO:
        return lambda pool: (pool.registration,)
    if algorithm is Algorithm.MIN_COST or task.priority >= HIGH_PRIORITY:
        return lambda pool: (pool.cost_per_unit, pool.registration)
    if task.priority >= MEDIUM_PRIORITY:
        return lambda pool: (pool.cost_per_unit, -pool.capacity, pool.registration)
    return lambda pool: (-pool.free, pool.registration)


def _reason(algorithm: Algorithm, task: TaskSnapshot, chosen: PoolSnapshot) -> str:
    cost = f"{chosen.cost_per_unit:g}"
    if algorithm is Algorithm.FIFO:
        return "first registered"
    if algorithm is Algorithm.MIN_COST:
        return f"cheapest ({cost})"
    if task.priority >= HIGH_PRIORITY:
        return f"priority {task.priority} takes the cheapest ({cost})"
    if task.priority >= MEDIUM_PRIORITY:
        return (
            f"priority {task.priority} takes the cheapest ({cost}, "
            f"larger capacity on ties: {chosen.capacity})"
        )
    return f"priority {task.priority} takes the most free capacity ({chosen.free} free)"


def _no_pool_summary(total: int, verdicts: Sequence[FilterReason | None]) -> str:
    if total == 0:
        return "0/0 pools available: no worker pools registered"
    counts = Counter(verdicts)
    parts = [
        f"{counts[reason]} {reason}"
        for reason in (FilterReason.AT_CAPACITY, FilterReason.WRONG_RESOURCE_TYPE)
        if counts[reason]
    ]
    return f"0/{total} pools available: " + ", ".join(parts)
