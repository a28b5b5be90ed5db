"""Weighted fair share between tenants: who places next, who waits and why, and which one
task gives way to a tenant below its share."""

from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.scheduling.fair_share import (
    FairShareChoice,
    Preemption,
    RunningTask,
    TenantFigure,
    TenantState,
    Verdict,
    choose,
    choose_victim,
    dominant_share,
)
from domain.tenant import Tenant
from domain.values import NO_BORROWING, Limits, ResourceType

CPU, GPU = ResourceType.CPU, ResourceType.GPU
UNLIMITED_BORROWING = Limits(None, None)


def state(
    name: str,
    weight: float = 1.0,
    cpu: int = 0,
    gpu: int = 0,
    quota: Limits = Limits(),
    borrowing: Limits = NO_BORROWING,
) -> TenantState:
    return TenantState(name, weight, quota, borrowing, cpu, gpu)


def choose_cpu(
    *tenants: TenantState,
    capacity: int = 20,
    order: Mapping[str, tuple[int, ...]] | None = None,
) -> FairShareChoice:
    """Every tenant wants a cpu slot; equal order keys unless given."""
    return choose(
        tenants,
        {t.name: frozenset({CPU}) for t in tenants},
        {CPU: capacity},
        order or {t.name: (0,) for t in tenants},
    )


# dominant share and the tenant's state


def test_the_dominant_share_is_the_largest_fraction_of_any_resource_with_capacity() -> None:
    assert dominant_share({CPU: 2, GPU: 3}, {CPU: 10, GPU: 4}) == 0.75
    assert dominant_share({CPU: 5, GPU: 1}, {CPU: 10, GPU: 4}) == 0.5
    assert dominant_share({CPU: 0, GPU: 0}, {CPU: 10, GPU: 4}) == 0.0, "nothing runs"
    assert dominant_share({CPU: 3}, {}) == 0.0, "no capacity at all"
    assert dominant_share({CPU: 1, GPU: 5}, {CPU: 4, GPU: 0}) == 0.25, "no gpu capacity"


def test_a_share_is_the_dominant_share_divided_by_the_weight() -> None:
    capacity = {CPU: 10, GPU: 4}
    assert state("a", weight=1, cpu=5).share(capacity) == 0.5
    assert state("a", weight=2, cpu=5).share(capacity) == 0.25
    assert state("a", weight=2, cpu=1, gpu=2).share(capacity) == 0.25, "gpu dominates"
    assert state("a", weight=0.5, cpu=1).share(capacity) == 0.2


def test_room_and_borrowing_follow_quota_plus_borrowing() -> None:
    limited = state("a", cpu=5, quota=Limits(cpu=4), borrowing=Limits(cpu=2))
    assert limited.cap(CPU) == 6
    assert limited.room(CPU), "6 running would still be within 4 + 2"
    assert limited.borrowing_for(CPU)
    assert not state("a", cpu=6, quota=Limits(cpu=4), borrowing=Limits(cpu=2)).room(CPU)
    within = state("a", cpu=3, quota=Limits(cpu=4))
    assert within.room(CPU)
    assert not within.borrowing_for(CPU)
    assert not state("a", cpu=4, quota=Limits(cpu=4)).room(CPU), "no borrowing by default"
    no_quota = state("a", cpu=1000)
    assert no_quota.cap(CPU) is None
    assert no_quota.room(CPU)
    assert not no_quota.borrowing_for(CPU), "without a quota nothing is borrowed"


@pytest.mark.parametrize(
    ("borrowing", "running", "room"),
    [
        (Limits(cpu=None), 2, True),
        (Limits(cpu=None), 500, True),
        (Limits(cpu=0), 1, True),
        (Limits(cpu=0), 2, False),
        (Limits(cpu=3), 4, True),
        (Limits(cpu=3), 5, False),
    ],
)
def test_a_borrowing_limit_of_none_is_unlimited_and_zero_is_none(
    borrowing: Limits, running: int, room: bool
) -> None:
    tenant = state("a", cpu=running, quota=Limits(cpu=2), borrowing=borrowing)
    assert tenant.room(CPU) is room
    choice = choose_cpu(tenant, capacity=1000)
    assert choice.tenant == ("a" if room else None)


def test_a_state_is_made_from_the_tenant_aggregate() -> None:
    tenant = Tenant("team-a", 2.0, Limits(cpu=4), Limits(cpu=2, gpu=None))
    made = TenantState.of(tenant, {CPU: 3})
    assert made == TenantState("team-a", 2.0, Limits(cpu=4), Limits(2, None), 3, 0)
    assert made.running == {CPU: 3, GPU: 0}
    assert made.cap(CPU) == tenant.cap(CPU) == 6
    assert made.cap(GPU) is None
    assert made.placed(GPU).running == {CPU: 3, GPU: 1}


@pytest.mark.parametrize(
    ("weight", "cpu"), [(0, 0), (-1, 0), (float("nan"), 0), (float("inf"), 0), (1, -1)]
)
def test_impossible_states_are_refused(weight: float, cpu: int) -> None:
    with pytest.raises(ValueError, match="team-a"):
        TenantState("team-a", weight, running_cpu=cpu)


# choosing the next tenant


def test_the_tenant_furthest_below_its_weighted_share_is_chosen() -> None:
    # shares of 20 cpu: a 2/20 = 0.1, b 3/20 = 0.15, c (weight 2) 3/20/2 = 0.075
    choice = choose_cpu(state("a", cpu=2), state("b", cpu=3), state("c", weight=2, cpu=3))
    assert choice.tenant == "c", "runs more than a, but is owed twice as much"
    assert choice.resources == frozenset({CPU})
    assert choice.summary == (
        "c chosen at 0.075 of its share; "
        "a waits: over its share (0.1 > 0.075); b waits: over its share (0.15 > 0.075)"
    )
    assert [(f.name, f.share, f.verdict) for f in choice.figures] == [
        ("a", 0.1, "over its share"),
        ("b", 0.15, "over its share"),
        ("c", 0.075, "chosen"),
    ]


def test_the_share_is_dominant_across_resource_types() -> None:
    capacity = {CPU: 10, GPU: 4}
    gpu_heavy = state("a", cpu=1, gpu=2)  # 0.5 on gpu
    cpu_heavy = state("b", cpu=4, gpu=0)  # 0.4 on cpu
    both = frozenset({CPU, GPU})
    choice = choose(
        [gpu_heavy, cpu_heavy], {"a": both, "b": both}, capacity, {"a": (0,), "b": (0,)}
    )
    assert choice.tenant == "b"
    assert choice.resources == both


def test_a_tenant_at_quota_waits_and_says_so() -> None:
    at_quota = state("a", cpu=4, quota=Limits(cpu=4))
    choice = choose_cpu(at_quota, state("b", cpu=9))
    assert choice.tenant == "b", "a holds less, but has no room"
    assert choice.summary == "b chosen at 0.45 of its share; a waits: at quota 4/4 cpu"
    assert choice.figures[0] == TenantFigure(
        "a", 1.0, 4, 0, 4, None, 4, None, 0.2, Verdict.AT_QUOTA
    )


def test_with_nobody_eligible_no_tenant_is_chosen_and_each_says_why() -> None:
    borrowed_to_the_limit = state("a", cpu=6, quota=Limits(cpu=4), borrowing=Limits(cpu=2))
    at_quota = state("b", cpu=4, gpu=1, quota=Limits(cpu=4, gpu=1))
    wanting = {"a": frozenset({CPU}), "b": frozenset({CPU, GPU})}
    choice = choose(
        [at_quota, borrowed_to_the_limit], wanting, {CPU: 20, GPU: 2}, {"a": (0,), "b": (0,)}
    )
    assert choice.tenant is None
    assert choice.resources == frozenset()
    assert choice.summary == (
        "no tenant chosen; a waits: at quota 4+2/4 cpu; b waits: at quota 4/4 cpu, 1/1 gpu"
    )
    assert [f.verdict for f in choice.figures] == ["at quota", "at quota"]


def test_tenants_not_wanting_a_slot_do_not_compete() -> None:
    idle, wanting_nothing = state("a"), state("b")
    choice = choose([idle, wanting_nothing], {"b": frozenset()}, {CPU: 10}, {})
    assert choice == FairShareChoice(None, frozenset(), (), "no tenant is waiting")
    choice = choose_cpu(state("a", cpu=8), state("z"), capacity=10)
    only_a = choose(
        [state("a", cpu=8), state("z")], {"a": frozenset({CPU})}, {CPU: 10}, {"a": (0,)}
    )
    assert choice.tenant == "z"
    assert only_a.tenant == "a", "z holds nothing but does not want a slot"
    assert [f.name for f in only_a.figures] == ["a"]


def test_borrowing_waits_while_a_tenant_within_its_quota_wants_a_slot() -> None:
    borrower = state("a", cpu=2, quota=Limits(cpu=2), borrowing=UNLIMITED_BORROWING)
    within = state("b", cpu=8, quota=Limits(cpu=10))
    choice = choose_cpu(borrower, within)
    assert choice.tenant == "b", "a's share is lower, but a would borrow"
    assert choice.summary == (
        "b chosen at 0.4 of its share; "
        "a waits: borrowing waits (quota 2/2 cpu used; b is within its quota)"
    )
    assert [f.verdict for f in choice.figures] == ["borrowing waits", "chosen"]


def test_a_tenant_borrows_capacity_no_tenant_within_its_quota_wants() -> None:
    borrower = state("a", cpu=2, quota=Limits(cpu=2), borrowing=UNLIMITED_BORROWING)
    full = state("b", cpu=10, quota=Limits(cpu=10))
    choice = choose_cpu(borrower, full)
    assert choice.tenant == "a"
    assert choice.resources == frozenset({CPU})
    assert choice.summary == (
        "a chosen at 0.1 of its share (borrowing past its quota: no tenant within its quota "
        "wants a slot); b waits: at quota 10/10 cpu"
    )
    alone = choose(
        [borrower, state("b", cpu=8, quota=Limits(cpu=10))],
        {"a": frozenset({CPU})},
        {CPU: 20},
        {"a": (0,)},
    )
    assert alone.tenant == "a", "b is within its quota but does not want a slot"


def test_between_borrowers_the_lowest_share_borrows_first() -> None:
    unlimited = UNLIMITED_BORROWING
    a = state("a", cpu=6, quota=Limits(cpu=2), borrowing=unlimited)
    b = state("b", cpu=3, quota=Limits(cpu=2), borrowing=unlimited)
    choice = choose_cpu(a, b)
    assert choice.tenant == "b"
    assert "a waits: over its share (0.3 > 0.15)" in choice.summary


def test_a_tenant_within_quota_on_one_type_is_placed_there_only() -> None:
    tenant = state("a", cpu=2, quota=Limits(cpu=2), borrowing=UNLIMITED_BORROWING)
    other = state("b", cpu=1, gpu=2)  # 0.2 on gpu, a has 0.1
    both = frozenset({CPU, GPU})
    choice = choose(
        [tenant, other], {"a": both, "b": both}, {CPU: 20, GPU: 10}, {"a": (0,), "b": (0,)}
    )
    assert choice.tenant == "a", "within its quota on gpu, lowest share"
    assert choice.resources == frozenset({GPU}), "cpu would be borrowed"


def test_equal_shares_go_to_the_smaller_order_key_then_the_name() -> None:
    # 3/10 at weight 3 and 1/10 at weight 1 are the same share, though not in floats
    assert 0.3 / 3 != 0.1
    heavy, light = state("heavy", weight=3, cpu=3), state("light", weight=1, cpu=1)
    choice = choose_cpu(heavy, light, capacity=10, order={"heavy": (-5, 9), "light": (-5, 2)})
    assert choice.tenant == "light", "its head task is queued first"
    assert choice.summary == (
        "light chosen at 0.1 of its share; heavy waits: over its share (tie at 0.1, queued later)"
    )
    choice = choose_cpu(heavy, light, capacity=10, order={"heavy": (-7, 9), "light": (-5, 2)})
    assert choice.tenant == "heavy", "its head task has the higher priority"
    choice = choose_cpu(light, heavy, capacity=10)
    assert choice.tenant == "heavy", "same order key: by name"
    assert choice.summary == (
        "heavy chosen at 0.1 of its share; light waits: over its share (tie at 0.1, name after heavy)"
    )


@pytest.mark.parametrize(
    "tenant",
    [
        state("solo"),
        state("solo", cpu=19),
        state("solo", weight=0.5, cpu=10, gpu=5),
        state("solo", cpu=3, quota=Limits(cpu=4)),
        state("solo", cpu=4, quota=Limits(cpu=4), borrowing=Limits(cpu=1)),
        state("solo", cpu=40, quota=Limits(cpu=4), borrowing=UNLIMITED_BORROWING),
    ],
)
def test_a_single_tenant_with_room_is_always_chosen(tenant: TenantState) -> None:
    choice = choose_cpu(tenant)
    assert choice.tenant == "solo"
    assert choice.resources == frozenset({CPU})
    assert [f.verdict for f in choice.figures] == ["chosen"]


def test_the_figures_show_each_competitor_as_seen() -> None:
    a = state("a", weight=2, cpu=1, gpu=3, quota=Limits(2, 4), borrowing=Limits(1, None))
    b = state("b", weight=1, cpu=3)
    choice = choose(
        [b, a], {"a": frozenset({GPU}), "b": frozenset({CPU})}, {CPU: 9, GPU: 8}, {"a": (), "b": ()}
    )
    assert choice.tenant == "a"
    assert choice.figures == (
        TenantFigure("a", 2.0, 1, 3, 2, 4, 3, None, 0.1875, Verdict.CHOSEN),
        TenantFigure("b", 1.0, 3, 0, None, None, None, None, 0.333333, Verdict.OVER_SHARE),
    )
    assert choice.summary == (
        "a chosen at 0.1875 of its share; b waits: over its share (0.333333 > 0.1875)"
    )


def test_the_caller_s_mistakes_are_refused() -> None:
    a = state("a")
    with pytest.raises(ValueError, match="no state given: ghost"):
        choose([a], {"a": frozenset({CPU}), "ghost": frozenset({CPU})}, {CPU: 1}, {"a": ()})
    with pytest.raises(ValueError, match="no queue order key for competing tenants: a"):
        choose([a], {"a": frozenset({CPU})}, {CPU: 1}, {})
    with pytest.raises(ValueError, match="only once"):
        choose([a, state("a", cpu=1)], {"a": frozenset({CPU})}, {CPU: 1}, {"a": ()})


# choosing a victim


def task(
    task_id: str,
    tenant: str,
    priority: int = 5,
    started: int = 0,
    resource: ResourceType = CPU,
    preemptible: bool = True,
) -> RunningTask:
    return RunningTask(task_id, tenant, priority, resource, preemptible, started)


CAPACITY = {CPU: 4, GPU: 2}
BENEFICIARY = state("a", cpu=1)  # 0.25 now, 0.5 with the slot
GREEDY = state("b", cpu=3)  # 0.75


def victim_of(
    *running: RunningTask,
    beneficiary: TenantState = BENEFICIARY,
    priority: int = 5,
    resource: ResourceType = CPU,
    tenants: tuple[TenantState, ...] = (BENEFICIARY, GREEDY),
) -> Preemption | None:
    return choose_victim(
        beneficiary, resource, priority, running, {t.name: t for t in tenants}, CAPACITY
    )


def victim_id(*running: RunningTask, **options: Any) -> str | None:
    """Just the id of the task `victim_of` chooses."""
    preemption = victim_of(*running, **options)
    return None if preemption is None else preemption.victim


def test_the_victim_is_the_over_share_tenant_s_lowest_priority_newest_task() -> None:
    running = [
        task("b1", "b", priority=3, started=10),
        task("b2", "b", priority=2, started=11),
        task("b3", "b", priority=2, started=12),
        task("a1", "a", priority=1, started=13),
    ]
    assert victim_of(*running) == Preemption(
        "b3",
        "b",
        "a",
        "b over its share (0.75; 0.5 without the task >= a's 0.5 with it): lowest priority, newest",
        0.75,
        0.5,
    )


def test_priority_does_not_protect_a_task_of_a_tenant_over_its_share() -> None:
    assert victim_id(task("b1", "b", priority=10), priority=1) == "b1"


def test_same_priority_and_start_go_by_task_id() -> None:
    assert victim_id(task("b9", "b", started=4), task("b2", "b", started=4)) == "b2"


def test_a_non_preemptible_task_is_never_chosen() -> None:
    running = [task("b1", "b", priority=1, preemptible=False), task("b2", "b", priority=9)]
    assert victim_id(*running) == "b2"
    assert victim_of(task("b1", "b", preemptible=False)) is None


def test_only_tasks_on_the_needed_resource_are_chosen() -> None:
    assert victim_of(task("b1", "b", resource=GPU)) is None
    assert victim_id(task("b1", "b", resource=GPU), resource=GPU) == "b1"


def test_a_tenant_not_over_its_share_relative_to_the_beneficiary_keeps_its_tasks() -> None:
    even = state("b", cpu=2)  # 0.5: the beneficiary's share once it has the slot
    assert victim_of(task("b1", "b"), tenants=(BENEFICIARY, even)) is None
    heavy = state("b", weight=2, cpu=3)  # 0.375 at weight 2
    assert victim_of(task("b1", "b"), tenants=(BENEFICIARY, heavy)) is None


def test_the_tenant_with_the_highest_share_gives_way_first() -> None:
    c = state("c", cpu=0, gpu=2)  # 1.0 on gpu
    running = [task("b1", "b", priority=1), task("c1", "c", priority=9, started=0)]
    preemption = victim_of(*running, tenants=(BENEFICIARY, GREEDY, c))
    assert preemption is not None
    assert (preemption.victim, preemption.victim_share) == ("c1", 1.0)


@pytest.mark.parametrize("own_priority", [5, 6, 10])
def test_a_tenant_never_preempts_its_own_task_of_equal_or_higher_priority(
    own_priority: int,
) -> None:
    assert victim_of(task("a1", "a", priority=own_priority), priority=5) is None


def test_a_tenant_preempts_its_own_lower_priority_task_last() -> None:
    own = task("a1", "a", priority=2, started=5)
    assert victim_of(own, priority=5) == Preemption(
        "a1", "a", "a", "a's own lower priority task (2 < 5): lowest priority, newest", 0.25, 0.25
    )
    assert victim_id(own, task("b1", "b", priority=9), priority=5) == "b1", (
        "the over-share tenant gives way first"
    )


def test_a_beneficiary_that_would_borrow_takes_nothing_from_other_tenants() -> None:
    borrowing = state("a", cpu=1, quota=Limits(cpu=1), borrowing=UNLIMITED_BORROWING)
    tenants = (borrowing, GREEDY)
    assert victim_of(task("b1", "b"), beneficiary=borrowing, tenants=tenants) is None
    assert victim_id(task("a1", "a", priority=1), beneficiary=borrowing, tenants=tenants) == "a1", (
        "swapping its own task borrows nothing more"
    )
    full = state("a", cpu=1, quota=Limits(cpu=1))
    assert victim_of(task("b1", "b"), beneficiary=full, tenants=(full, GREEDY)) is None


def test_no_victim_without_running_tasks_or_known_tenants() -> None:
    assert victim_of() is None
    assert victim_of(task("x1", "unknown")) is None


# properties

NAMES = ("a", "b", "c", "d", "e")
LIMIT = st.one_of(st.none(), st.integers(0, 6))


@st.composite
def tenant_states(draw: st.DrawFn) -> TenantState:
    return TenantState(
        draw(st.sampled_from(NAMES)),
        draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0])),
        Limits(draw(LIMIT), draw(LIMIT)),
        Limits(draw(LIMIT), draw(LIMIT)),
        draw(st.integers(0, 8)),
        draw(st.integers(0, 8)),
    )


RESOURCE_SETS = st.frozensets(st.sampled_from(list(ResourceType)))
Situation = tuple[
    list[TenantState],
    dict[str, frozenset[ResourceType]],
    dict[ResourceType, int],
    dict[str, tuple[int, ...]],
]


@st.composite
def situations(draw: st.DrawFn) -> Situation:
    tenants = draw(st.lists(tenant_states(), min_size=1, max_size=5, unique_by=lambda t: t.name))
    wanting = {t.name: draw(RESOURCE_SETS) for t in tenants}
    capacity = {CPU: draw(st.integers(0, 30)), GPU: draw(st.integers(0, 10))}
    order: dict[str, tuple[int, ...]] = {
        t.name: (draw(st.integers(-10, -1)), draw(st.integers(0, 3))) for t in tenants
    }
    return tenants, wanting, capacity, order


@given(situations())
def test_the_chosen_tenant_has_room_on_every_resource_it_is_given(situation: Situation) -> None:
    tenants, wanting, capacity, order = situation
    choice = choose(tenants, wanting, capacity, order)
    anyone_eligible = any(t.room(r) for t in tenants for r in wanting[t.name])
    assert (choice.tenant is not None) is anyone_eligible
    if choice.tenant is None:
        assert choice.resources == frozenset()
        return
    chosen = next(t for t in tenants if t.name == choice.tenant)
    assert choice.resources, "a chosen tenant is given somewhere to go"
    assert choice.resources <= wanting[chosen.name]
    assert all(chosen.room(r) for r in choice.resources)
    borrows = all(chosen.borrowing_for(r) for r in choice.resources)
    assert borrows or not any(chosen.borrowing_for(r) for r in choice.resources)


@given(situations())
def test_no_tenant_within_its_quota_is_further_below_its_share(situation: Situation) -> None:
    tenants, wanting, capacity, order = situation
    choice = choose(tenants, wanting, capacity, order)
    within = [
        t for t in tenants if any(t.room(r) and not t.borrowing_for(r) for r in wanting[t.name])
    ]
    if choice.tenant is None:
        assert not within
        return
    chosen = next(t for t in tenants if t.name == choice.tenant)
    if chosen not in within:
        assert not within, "a tenant borrowed while one within its quota wanted a slot"
        return
    lowest = min(t.exact_share(capacity) for t in within)
    assert chosen.exact_share(capacity) == lowest


@given(situations())
def test_one_figure_per_competing_tenant_by_name_and_the_order_of_tenants_does_not_matter(
    situation: Situation,
) -> None:
    tenants, wanting, capacity, order = situation
    choice = choose(tenants, wanting, capacity, order)
    competing = sorted(t.name for t in tenants if wanting[t.name])
    assert [f.name for f in choice.figures] == competing
    assert [f.verdict for f in choice.figures].count(Verdict.CHOSEN) == (
        0 if choice.tenant is None else 1
    )
    assert choose(tenants[::-1], wanting, capacity, order) == choice


@settings(max_examples=50)
@given(
    st.permutations([("x", 1.0), ("y", 1.0), ("z", 2.0)]),
    st.dictionaries(st.sampled_from("xyz"), st.tuples(st.integers(-10, -1)), min_size=3),
)
def test_backlogged_tenants_of_weights_1_1_2_converge_to_10_10_20_of_40(
    tenants: list[tuple[str, float]], order: dict[str, tuple[int, ...]]
) -> None:
    states = {name: TenantState(name, weight) for name, weight in tenants}
    wanting = {name: frozenset({CPU}) for name in states}
    for placed in range(1, 41):
        choice = choose(list(states.values()), wanting, {CPU: 40}, order)
        assert choice.tenant is not None
        states[choice.tenant] = states[choice.tenant].placed(CPU)
        for t in states.values():
            assert abs(t.running_cpu - placed * t.weight / 4) <= 1, (placed, states)
    final = {name: t.running_cpu for name, t in states.items()}
    assert sum(final.values()) == 40
    assert all(abs(final[name] - due) <= 1 for name, due in {"x": 10, "y": 10, "z": 20}.items())


WEIGHTS = st.sampled_from([0.5, 1.0, 2.0, 3.0, 5.0])


@settings(max_examples=400, deadline=None)
@given(
    slots=st.integers(1, 40),
    gpu_slots=st.integers(0, 8),
    victim_weight=WEIGHTS,
    beneficiary_weight=WEIGHTS,
    data=st.data(),
)
def test_a_preemption_settles_the_slot_is_not_passed_back_and_forth(
    slots: int, gpu_slots: int, victim_weight: float, beneficiary_weight: float, data: Any
) -> None:
    """Whatever the weights and counts: once a victim is stopped, fair share gives its slot
    to the beneficiary (even when the victim's tenant's head is older), and the victim's
    tenant then has no claim to take it back."""
    held = data.draw(st.integers(1, slots))
    others = data.draw(st.integers(0, slots - held))
    gpus = data.draw(st.integers(0, gpu_slots)), data.draw(st.integers(0, gpu_slots))
    capacity = {CPU: slots, GPU: gpu_slots}
    victim = state("v", victim_weight, cpu=held, gpu=gpus[0])
    beneficiary = state("b", beneficiary_weight, cpu=others, gpu=gpus[1])
    running = [task(f"v{n}", "v", started=n) for n in range(held)]
    made = choose_victim(beneficiary, CPU, 5, running, {"v": victim, "b": beneficiary}, capacity)
    if made is None:
        return
    victim, freed = victim.released(CPU), (victim.name, beneficiary.name)
    wanting = dict.fromkeys(freed, frozenset({CPU}))
    again = choose([victim, beneficiary], wanting, capacity, {"v": (0,), "b": (1,)})
    assert again.tenant == "b", (made.rule, again.summary)
    beneficiary = beneficiary.placed(CPU)
    back = [task(f"b{n}", "b", started=n) for n in range(beneficiary.running_cpu)]
    tenants = {"v": victim, "b": beneficiary}
    assert choose_victim(victim, CPU, 5, back, tenants, capacity) is None, made.rule


def test_unequal_weights_do_not_pass_a_slot_back_and_forth() -> None:
    """The case that did: v (weight 1) and b (weight 3) run one task each on two slots.
    v's 0.5 is above b's 1/3 with the slot, but without its task v would be at 0, below
    b's 1/6 now, and take the slot straight back."""
    victim, beneficiary = state("v", 1.0, cpu=1), state("b", 3.0, cpu=1)
    tenants = {"v": victim, "b": beneficiary}
    assert choose_victim(beneficiary, CPU, 5, [task("v1", "v")], tenants, {CPU: 2}) is None
