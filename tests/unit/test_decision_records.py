"""The compact decision record: its size does not grow with the pools, it survives the
trip through the codec, and the board it was made on is rebuilt from the log exactly."""

import random
from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
import pytest

from application.audit.decision_inputs import PoolTrail, TooOld
from application.read_models.record import Recorded
from domain.events import TaskDeferred, WorkerAssigned
from domain.scheduling import (
    Decision,
    DecisionRecord,
    PoolSnapshot,
    TaskSnapshot,
    algorithms,
    decide,
    input_digest,
    rank_key_names,
    record_of,
)
from domain.scheduling.record import RUNNERS_UP, difference
from domain.values import Algorithm, ResourceType
from infrastructure.codec import decode, encode

NOW = datetime(2026, 12, 5, tzinfo=UTC)
REGIONS = ["us-east", "us-west", "eu-west", "ap-east"]
TASK = TaskSnapshot("6f1c3a52-8d0e-4b7a-9c1d-2e3f4a5b6c7d", 5, "eu-west", ResourceType.GPU)


def fleet(count: int, seed: int = 1) -> list[PoolSnapshot]:
    rng = random.Random(seed)
    pools = []
    for index in range(count):
        kind = rng.choice(list(ResourceType))
        region = rng.choice(REGIONS)
        capacity = rng.randint(0, 12)
        pools.append(
            PoolSnapshot(
                f"{index:08d}-0000-4000-8000-000000000000",
                f"{region}-{kind}-pool-{index:05d}",
                region,
                kind,
                round(rng.uniform(0.05, 3.0), 2),
                capacity,
                rng.randint(0, capacity),
                1000 + index,
                rng.random() < 0.05,
            )
        )
    return pools


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_a_record_stays_under_600_bytes_at_10000_pools(algorithm: Algorithm) -> None:
    sizes = {}
    for count in (8, 1_000, 10_000):
        decision = decide(algorithm, TASK, fleet(count))
        record = record_of(decision, seen=1_234_567, run="a1b2c3d4")
        sizes[count] = len(orjson.dumps(orjson.loads(encode(_assigned(record)))["decision"]))
        assert len(record.ranked) == min(RUNNERS_UP + 1, decision_ranked(decision))
    assert sizes[10_000] <= 600, sizes
    assert sizes[10_000] - sizes[1_000] < 20, f"beyond 6 ranked, only digits grow: {sizes}"


def decision_ranked(decision: Decision) -> int:
    return sum(key is not None for key in decision.rank_keys)


def _assigned(record: DecisionRecord) -> WorkerAssigned:
    return WorkerAssigned(TASK.task_id, "p", "pool", record, NOW)


def test_every_ranking_breaks_ties_by_registration_last() -> None:
    """So a recorded rank key names its pool by its last part."""
    for (algorithm, version), _ in algorithms.RANKINGS.items():
        for priority in range(1, 11):
            task = TaskSnapshot("t", priority, "eu-west", None)
            assert rank_key_names(algorithm, version, task)[-1] == "registration"


def test_records_and_whole_decisions_both_decode() -> None:
    decision = decide(Algorithm.PRIORITY, TASK, fleet(50))
    record = record_of(decision, seen=99, run="r")
    for event in (_assigned(record), TaskDeferred(TASK.task_id, record, NOW)):
        assert decode(event.type_name(), 3, encode(event)) == event
    whole = WorkerAssigned(TASK.task_id, "p", "pool", decision, NOW)
    assert decode("WorkerAssigned", 2, encode(whole)) == whole, "schema 2 reads as it was"
    assert decode("WorkerAssigned", 3, encode(whole)) == whole


def test_the_digest_covers_every_pool_field() -> None:
    pools = fleet(20)
    digest = input_digest(TASK, pools)
    assert input_digest(TASK, list(reversed(pools))) == digest, "registration order, always"
    changed = [pools[0].__class__(**{**vars(pools[0]), "load": pools[0].load + 1}), *pools[1:]]
    assert input_digest(TASK, changed) != digest
    draining = [pools[0].__class__(**{**vars(pools[0]), "draining": True}), *pools[1:]]
    assert input_digest(TASK, draining) != digest


def test_a_rebuilt_board_that_differs_is_named() -> None:
    pools = fleet(30)
    record = record_of(decide(Algorithm.MIN_COST, TASK, pools), 10, "r")
    chosen = next(p for p in pools if p.registration == record.ranked[0][-1])
    full = [p if p is not chosen else p.__class__(**{**vars(p), "load": p.capacity}) for p in pools]
    again = record_of(decide(Algorithm.MIN_COST, TASK, full), 10, "r")
    problem = difference(record, again)
    assert problem is not None
    assert problem.startswith("the pools the log gives at position 10 do not hash")
    assert f"registered at {chosen.registration}" in problem
    assert difference(record, record) is None


class Stored:
    """An event as the read models see it: position, type and stored payload."""

    def __init__(self, position: int, type: str, data: dict[str, object]) -> None:
        self.position, self.type, self.data = position, type, data
        self.correlation_id = "c"


def board_at(history: Sequence[Recorded], seen: int, before: int, run: str) -> list[PoolSnapshot]:
    """The board from a history holding every pool event up to `seen` and the
    assignments in (seen, before), in position order: a trail folded over it."""
    trail = PoolTrail(keep=max(before - seen, 1) + 1)
    for record in history:
        if record.position >= before:
            break
        trail.apply(record)
    return [pool for pool, _ in trail.inputs(seen, before, run)]


def registered(position: int, name: str, capacity: int) -> Stored:
    return Stored(position, "WorkerPoolRegistered", {
        "pool_id": name, "name": name, "region": "eu-west", "resource_type": "cpu",
        "cost_per_unit": 1.0, "capacity": capacity, "execution": "simulated",
    })  # fmt: skip


def test_the_board_is_the_pools_at_seen_plus_the_runs_own_later_assignments() -> None:
    history = [
        registered(1, "a", 2),
        registered(2, "b", 2),
        Stored(3, "PoolSlotClaimed", {"pool_id": "a", "task_id": "t0", "attempt": 1}),
        # the scheduler run "r" decided at seen=3; its assignment of t1 landed at 4-5, and
        # meanwhile the log moved on: a drain, a release and another run's assignment
        Stored(4, "WorkerAssigned", {"pool_id": "b", "decision": {"run": "r", "seen": 3}}),
        Stored(5, "PoolSlotClaimed", {"pool_id": "b", "task_id": "t1", "attempt": 1}),
        Stored(6, "PoolDrainStarted", {"pool_id": "a"}),
        Stored(7, "PoolSlotReleased", {"pool_id": "a", "task_id": "t0", "outcome": "completed"}),
        Stored(8, "WorkerAssigned", {"pool_id": "a", "decision": {"run": "old", "seen": 2}}),
        Stored(9, "PoolCapacityChanged", {"pool_id": "b", "capacity": 5}),
    ]
    board = board_at(history, seen=3, before=10, run="r")
    assert [(p.name, p.load, p.capacity, p.draining) for p in board] == [
        ("a", 1, 2, False),
        ("b", 1, 2, False),
    ]
    assert [p.name for p in board_at(history, seen=1, before=10, run="x")] == ["a"]


def test_a_board_older_than_the_trail_is_refused() -> None:
    trail = PoolTrail(keep=5)
    for position in range(1, 20):
        trail.apply(Stored(position, "TaskQueued", {}))
    with pytest.raises(TooOld):
        trail.inputs(seen=3, before=20, run="r")
    assert trail.inputs(seen=15, before=20, run="r") == []
