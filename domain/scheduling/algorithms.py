"""The three scheduling algorithms, as pure functions of their recorded inputs.

Every algorithm first filters (resource type, then free capacity), prefers the task's
region when any pool there can take it, and otherwise falls back to every pool that can.
They differ only in how the remaining pools are ranked.
"""

from collections import Counter
from collections.abc import Callable, Sequence

from domain.scheduling.decision import (
    Candidate,
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

HIGH_PRIORITY = 7
MEDIUM_PRIORITY = 4

RankKey = tuple[float, ...]


def decide(algorithm: Algorithm, task: TaskSnapshot, pools: Sequence[PoolSnapshot]) -> Decision:
    """Choose a pool for the task, or explain why none can take it."""
    verdicts = _filter(task, pools)
    open_pools = [pool for pool in pools if pool.pool_id not in verdicts]
    in_region = [pool for pool in open_pools if pool.region == task.region]
    if in_region:
        for pool in open_pools:
            if pool.region != task.region:
                verdicts[pool.pool_id] = FilterReason.OTHER_REGION
        contenders = in_region
    else:
        contenders = open_pools

    rank_key = _ranking(algorithm, task)
    ranked = sorted(contenders, key=rank_key)
    ranks = {pool.pool_id: index + 1 for index, pool in enumerate(ranked)}
    candidates = tuple(
        Candidate(
            pool=pool,
            filtered=verdicts.get(pool.pool_id),
            rank=ranks.get(pool.pool_id),
            rank_key=rank_key(pool) if pool.pool_id in ranks else None,
        )
        for pool in pools
    )
    version = ALGORITHM_VERSIONS[algorithm]
    if not ranked:
        summary = _no_pool_summary(len(pools), verdicts)
        return Decision(algorithm, version, task, candidates, None, summary)
    chosen = ranked[0]
    scope = (
        f"in {task.region}" if in_region else f"outside {task.region} (none free in {task.region})"
    )
    summary = (
        f"{algorithm} v{version} chose {chosen.name}: "
        f"{_reason(algorithm, task, chosen)} of {len(ranked)} {scope} with free capacity"
    )
    return Decision(algorithm, version, task, candidates, chosen.pool_id, summary)


def _filter(task: TaskSnapshot, pools: Sequence[PoolSnapshot]) -> dict[str, FilterReason]:
    verdicts: dict[str, FilterReason] = {}
    for pool in pools:
        if task.resource_type is not None and pool.resource_type != task.resource_type:
            verdicts[pool.pool_id] = FilterReason.WRONG_RESOURCE_TYPE
        elif pool.free <= 0:
            verdicts[pool.pool_id] = FilterReason.AT_CAPACITY
    return verdicts


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


def _no_pool_summary(total: int, verdicts: dict[str, FilterReason]) -> str:
    if total == 0:
        return "0/0 pools available: no worker pools registered"
    counts = Counter(verdicts.values())
    parts = [
        f"{counts[reason]} {reason}"
        for reason in (FilterReason.AT_CAPACITY, FilterReason.WRONG_RESOURCE_TYPE)
        if counts[reason]
    ]
    return f"0/{total} pools available: " + ", ".join(parts)
