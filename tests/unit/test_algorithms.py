"""The scheduling algorithms, table-driven from the rules in the issue and the seed."""

import pytest

from domain.errors import UnknownAlgorithmVersion
from domain.scheduling import (
    ALGORITHM_VERSIONS,
    FilterReason,
    PoolSnapshot,
    TaskSnapshot,
    decide,
    rank_key_names,
)
from domain.values import Algorithm, ResourceType

CPU, GPU = ResourceType.CPU, ResourceType.GPU

DEMO = [
    ("us-east", CPU, 0.5, 10),
    ("us-east", GPU, 2.0, 5),
    ("us-west", CPU, 0.6, 8),
    ("us-west", GPU, 2.2, 4),
    ("eu-west", CPU, 0.55, 10),
    ("eu-west", GPU, 2.1, 5),
    ("ap-east", CPU, 0.65, 6),
    ("ap-east", GPU, 2.3, 3),
]


def demo_pools(
    full: tuple[str, ...] = (), load: dict[str, int] | None = None
) -> list[PoolSnapshot]:
    pools = []
    for index, (region, kind, cost, capacity) in enumerate(DEMO):
        name = f"{region}-{kind}-pool"
        used = capacity if name in full else (load or {}).get(name, 0)
        pools.append(PoolSnapshot(name, name, region, kind, cost, capacity, used, index + 1))
    return pools


def pool(
    name: str, region: str, kind: ResourceType, cost: float, capacity: int, load: int, order: int
) -> PoolSnapshot:
    return PoolSnapshot(name, name, region, kind, cost, capacity, load, order)


MIXED = [
    pool("a", "r1", CPU, 1.0, 10, 0, 1),
    pool("b", "r1", CPU, 0.5, 4, 3, 2),
    pool("c", "r1", GPU, 0.5, 8, 0, 3),
    pool("d", "r1", CPU, 2.0, 20, 0, 4),
    pool("e", "r2", CPU, 0.1, 50, 0, 5),
]


def task(
    priority: int = 5, region: str = "us-east", kind: ResourceType | None = None
) -> TaskSnapshot:
    return TaskSnapshot("t1", priority, region, kind)


CASES = [
    # fifo: first registered pool with room in the task's region, else first anywhere
    ("fifo in region", Algorithm.FIFO, task(), demo_pools(), "us-east-cpu-pool"),
    (
        "fifo skips a full pool",
        Algorithm.FIFO,
        task(),
        demo_pools(("us-east-cpu-pool",)),
        "us-east-gpu-pool",
    ),
    (
        "fifo falls back to the first anywhere",
        Algorithm.FIFO,
        task(),
        demo_pools(("us-east-cpu-pool", "us-east-gpu-pool")),
        "us-west-cpu-pool",
    ),
    ("fifo unknown region", Algorithm.FIFO, task(region="mars"), demo_pools(), "us-east-cpu-pool"),
    ("fifo gpu requirement", Algorithm.FIFO, task(kind=GPU), demo_pools(), "us-east-gpu-pool"),
    (
        "fifo gpu falls back to another region's gpu",
        Algorithm.FIFO,
        task(kind=GPU),
        demo_pools(("us-east-gpu-pool",)),
        "us-west-gpu-pool",
    ),
    (
        "fifo cpu requirement in eu-west",
        Algorithm.FIFO,
        task(region="eu-west", kind=CPU),
        demo_pools(),
        "eu-west-cpu-pool",
    ),
    # priority >= 7: lowest cost, ties in registration order
    ("priority high takes the cheapest", Algorithm.PRIORITY, task(8, "r1"), MIXED, "b"),
    ("priority 7 is high", Algorithm.PRIORITY, task(7, "r1"), MIXED, "b"),
    # priority 4..6: lowest cost, ties to the larger capacity
    ("priority medium breaks cost ties by capacity", Algorithm.PRIORITY, task(5, "r1"), MIXED, "c"),
    ("priority 4 is medium", Algorithm.PRIORITY, task(4, "r1"), MIXED, "c"),
    ("priority 6 is medium", Algorithm.PRIORITY, task(6, "r1"), MIXED, "c"),
    # priority < 4: most free capacity
    ("priority low takes the most free capacity", Algorithm.PRIORITY, task(3, "r1"), MIXED, "d"),
    ("priority 1 is low", Algorithm.PRIORITY, task(1, "r1"), MIXED, "d"),
    ("priority respects the resource filter", Algorithm.PRIORITY, task(8, "r1", CPU), MIXED, "b"),
    ("priority falls back anywhere", Algorithm.PRIORITY, task(3, "r9"), MIXED, "e"),
    (
        "priority on the demo pools",
        Algorithm.PRIORITY,
        task(9, "us-west"),
        demo_pools(),
        "us-west-cpu-pool",
    ),
    # min_cost: cheapest with room in region, else cheapest anywhere
    (
        "min_cost in region",
        Algorithm.MIN_COST,
        task(region="eu-west"),
        demo_pools(),
        "eu-west-cpu-pool",
    ),
    (
        "min_cost region full falls back to cheapest anywhere",
        Algorithm.MIN_COST,
        task(region="eu-west"),
        demo_pools(("eu-west-cpu-pool", "eu-west-gpu-pool")),
        "us-east-cpu-pool",
    ),
    ("min_cost ties in registration order", Algorithm.MIN_COST, task(region="r1"), MIXED, "b"),
    (
        "min_cost prefers region over a cheaper pool elsewhere",
        Algorithm.MIN_COST,
        task(region="r1"),
        MIXED,
        "b",
    ),
    (
        "min_cost gpu",
        Algorithm.MIN_COST,
        task(region="ap-east", kind=GPU),
        demo_pools(),
        "ap-east-gpu-pool",
    ),
    (
        "min_cost unknown region takes the global cheapest",
        Algorithm.MIN_COST,
        task(region="mars"),
        MIXED,
        "e",
    ),
]


@pytest.mark.parametrize(
    ("algorithm", "task_", "pools", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_chooses(
    algorithm: Algorithm, task_: TaskSnapshot, pools: list[PoolSnapshot], expected: str
) -> None:
    decision = decide(algorithm, task_, pools)
    assert decision.chosen_pool_id == expected
    assert decision.summary.startswith(f"{algorithm} v1 chose {expected}: ")


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_no_pool_when_all_full(algorithm: Algorithm) -> None:
    names = tuple(f"{region}-{kind}-pool" for region, kind, _, _ in DEMO)
    decision = decide(algorithm, task(), demo_pools(names))
    assert decision.chosen_pool_id is None
    assert decision.summary == "0/8 pools available: 8 at capacity"


def test_deferral_summary_counts_each_reason() -> None:
    full_gpus = tuple(f"{region}-gpu-pool" for region in ("us-east", "us-west"))
    pools = demo_pools((*full_gpus, "eu-west-gpu-pool", "ap-east-gpu-pool", "us-east-cpu-pool"))
    decision = decide(Algorithm.FIFO, task(kind=GPU), pools)
    assert decision.chosen_pool_id is None
    assert decision.summary == "0/8 pools available: 4 at capacity, 4 wrong resource type"


def test_no_pools_registered() -> None:
    decision = decide(Algorithm.MIN_COST, task(), [])
    assert decision.chosen_pool_id is None
    assert decision.summary == "0/0 pools available: no worker pools registered"


def test_decision_records_every_candidate_and_why() -> None:
    decision = decide(Algorithm.MIN_COST, task(region="r1", kind=CPU), MIXED)
    verdicts = {c.pool.pool_id: (c.filtered, c.rank) for c in decision.candidates}
    assert verdicts == {
        "a": (None, 2),
        "b": (None, 1),
        "c": (FilterReason.WRONG_RESOURCE_TYPE, None),
        "d": (None, 3),
        "e": (FilterReason.OTHER_REGION, None),
    }
    ranked = {c.pool.pool_id: c.rank_key for c in decision.candidates if c.rank}
    assert ranked == {"b": (0.5, 2), "a": (1.0, 1), "d": (2.0, 4)}
    assert decision.summary == "min_cost v1 chose b: cheapest (0.5) of 3 in r1 with free capacity"
    assert decision.chosen == MIXED[1]


def test_fallback_summary_says_the_region_had_no_room() -> None:
    decision = decide(
        Algorithm.FIFO, task(region="eu-west"), demo_pools(("eu-west-cpu-pool", "eu-west-gpu-pool"))
    )
    assert decision.summary == (
        "fifo v1 chose us-east-cpu-pool: first registered of 6 outside eu-west "
        "(none free in eu-west) with free capacity"
    )


def test_full_pool_of_the_wrong_type_counts_as_wrong_type() -> None:
    pools = [pool("g", "r1", GPU, 1.0, 1, 1, 1)]
    decision = decide(Algorithm.FIFO, task(region="r1", kind=CPU), pools)
    assert decision.candidates[0].filtered is FilterReason.WRONG_RESOURCE_TYPE


def test_pool_over_capacity_after_shrink_counts_as_full() -> None:
    pools = [pool("p", "r1", CPU, 1.0, 2, 3, 1)]
    decision = decide(Algorithm.FIFO, task(region="r1"), pools)
    assert decision.chosen_pool_id is None
    assert decision.candidates[0].filtered is FilterReason.AT_CAPACITY


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_a_recorded_version_recomputes_the_same_decision(algorithm: Algorithm) -> None:
    task = TaskSnapshot("t", 5, "eu-west", CPU)
    current = decide(algorithm, task, demo_pools(load={"eu-west-cpu-pool": 3}))
    assert current.algorithm_version == ALGORITHM_VERSIONS[algorithm] == 1
    assert decide(algorithm, task, current.pools, version=1) == current


def test_an_unknown_version_is_refused_by_name() -> None:
    with pytest.raises(UnknownAlgorithmVersion, match="min_cost has no version 9"):
        decide(Algorithm.MIN_COST, TaskSnapshot("t", 5, "eu-west", CPU), demo_pools(), version=9)


@pytest.mark.parametrize(
    ("algorithm", "priority", "names"),
    [
        (Algorithm.FIFO, 5, ("registration",)),
        (Algorithm.MIN_COST, 1, ("cost_per_unit", "registration")),
        (Algorithm.PRIORITY, 9, ("cost_per_unit", "registration")),
        (Algorithm.PRIORITY, 5, ("cost_per_unit", "-capacity", "registration")),
        (Algorithm.PRIORITY, 2, ("-free", "registration")),
    ],
)
def test_rank_key_names_match_the_recorded_keys(
    algorithm: Algorithm, priority: int, names: tuple[str, ...]
) -> None:
    task = TaskSnapshot("t", priority, "eu-west", None)
    decision = decide(algorithm, task, demo_pools())
    assert rank_key_names(algorithm, 1, task) == names
    assert all(len(key) == len(names) for key in decision.rank_keys if key is not None)
