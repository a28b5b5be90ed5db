"""What-if replays with tenants, on hand-made histories: fair share decides whose task
goes next, other weights and quotas change it, and a preemptible task gives its slot to
a tenant below its share, then runs its whole time again."""

from dataclasses import replace

from application.audit.whatif import (
    PoolRegistered,
    RecordedTask,
    ReplayInputs,
    TenantOverride,
    TenantSet,
    compare,
    simulate,
)
from domain.scheduling import PoolSnapshot
from domain.tenant import Tenant
from domain.values import Algorithm, Limits, ResourceType

CPU = ResourceType.CPU
POOL = PoolSnapshot("p", "p", "us", CPU, 1.0, 2, 0, registration=1)


def task(
    task_id: str, tenant: str, at: float, seconds: float, position: int, preemptible: bool = False
) -> RecordedTask:
    """A task that ran `seconds` (its recorded start is not what the replay uses)."""
    return RecordedTask(
        task_id, 5, "us", CPU, 1.0, position, at, "p", at, at + seconds, position + 1000,
        tenant=tenant, preemptible=preemptible,
    )  # fmt: skip


def inputs(*tasks: RecordedTask, tenants: tuple[Tenant, ...] = (), slots: int = 2) -> ReplayInputs:
    settings = [TenantSet(index, -1.0, tenant) for index, tenant in enumerate(tenants)]
    pools = [PoolRegistered(0, -1.0, replace(POOL, capacity=slots))]
    return ReplayInputs(tasks, pools, frozenset({"fifo"}), 100.0, settings)


def starts(history: ReplayInputs, **options: object) -> dict[str, float]:
    placed = simulate(history, Algorithm.FIFO, **options).placements  # type: ignore[arg-type]
    return {task_id: placement.start for task_id, placement in placed.items()}


def test_fair_share_alternates_between_two_backlogged_tenants() -> None:
    history = inputs(
        task("a1", "a", 0, 10, 1), task("a2", "a", 0, 10, 2), task("a3", "a", 0, 10, 3),
        task("b1", "b", 1, 10, 4), task("b2", "b", 1, 10, 5),
    )  # fmt: skip
    # a takes both slots first; as they free at 10, b (below its share) takes the first,
    # then a (now below b's) the second
    assert starts(history) == {"a1": 0, "a2": 0, "b1": 10, "a3": 10, "b2": 20}


def test_a_heavier_weight_takes_more_of_the_freed_slots() -> None:
    """Four slots all a's until 10; as they free one by one, weights 1/1 split them 2/2,
    and with a's weight 3, 3/1."""
    a = [task(f"a{n}", "a", 0, 10, n) for n in range(8)]
    b = [task(f"b{n}", "b", 1, 10, 10 + n) for n in range(4)]
    history = inputs(*a, *b, slots=4)

    def started_at_10(**options: object) -> dict[str, int]:
        at_10 = [task_id for task_id, start in starts(history, **options).items() if start == 10]
        return {name: sum(task_id[0] == name for task_id in at_10) for name in "ab"}

    assert started_at_10() == {"a": 2, "b": 2}
    assert started_at_10(overrides={"a": TenantOverride(weight=3.0)}) == {"a": 3, "b": 1}


def test_a_quota_holds_a_tenant_back_and_an_override_lifts_it() -> None:
    history = inputs(
        task("a1", "a", 0, 10, 1), task("a2", "a", 0, 10, 2), task("a3", "a", 0, 10, 3),
        task("b1", "b", 1, 10, 4), task("b2", "b", 1, 10, 5),
    )  # fmt: skip
    capped = inputs(
        *history.tasks, tenants=(Tenant("a", quota=Limits(cpu=1)),)
    )  # fmt: skip
    assert starts(capped) == {"a1": 0, "b1": 1, "a2": 10, "b2": 11, "a3": 20}
    lifted = {"a": TenantOverride(quota={"cpu": None})}
    assert starts(capped, overrides=lifted)["a2"] == 0


def test_a_tenant_arriving_preempts_and_the_victim_runs_its_whole_time_again() -> None:
    history = inputs(
        task("a1", "a", 0, 10, 1, preemptible=True),
        task("a2", "a", 0, 10, 2, preemptible=True),
        task("b1", "b", 1, 3, 3),
    )
    simulated = simulate(history, Algorithm.FIFO)
    placed = {task_id: (p.start, p.end) for task_id, p in simulated.placements.items()}
    assert placed == {"a2": (0, 10), "b1": (1, 4), "a1": (4, 14)}  # same start: by task id
    assert simulated.preemptions == {"a": 1}
    replay = compare(history, Algorithm.FIFO)
    assert replay["tenants"]["what_if"]["a"]["preemptions"] == 1
    assert replay["tenants"]["what_if"]["b"]["mean_wait_s"] == 0.0
    assert replay["tenants"]["actual"]["a"]["preemptions"] == 0


def test_unequal_weights_settle_after_the_preemptions_their_shares_call_for() -> None:
    """a fills 34 slots with 40 preemptible tasks; b (weight 3) arrives with 30: b is owed
    three quarters of the slots, takes them by preemption once each, and a keeps the rest
    (with the victim's share compared before it lost its task, this never ended)."""
    a = [task(f"a{n}", "a", 0, 100, n, preemptible=True) for n in range(40)]
    b = [task(f"b{n}", "b", 1, 100, 100 + n) for n in range(30)]
    history = inputs(*a, *b, tenants=(Tenant("b", 3.0),), slots=34)
    simulated = simulate(history, Algorithm.FIFO)
    running_at_2 = [p.task.tenant for p in simulated.placements.values() if p.start <= 2 < p.end]
    assert (running_at_2.count("a"), running_at_2.count("b")) == (9, 25)
    assert simulated.preemptions == {"a": 25}
