"""Decision explanations and timelines, folded from hand-built streams."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from application.audit.explain import decisions_view, timeline_view
from application.messages import EventMetadata, RecordedEvent
from domain.events import DomainEvent, TaskCancelled, TaskDeferred, TaskQueued, WorkerAssigned
from domain.scheduling import TaskSnapshot, decide
from domain.values import Algorithm, ResourceType, TaskStatus, TaskType
from infrastructure.codec import encode, payload_dict
from tests.builders import task_queued
from tests.unit.test_algorithms import demo_pools

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TASK_ID = "11111111-1111-4111-8111-111111111111"


def stream(*events: DomainEvent) -> list[RecordedEvent]:
    return [
        RecordedEvent.of(
            position,
            f"task-{TASK_ID}",
            position,
            event,
            EventMetadata(f"event-{position}", "req-1", None, "api", T0),
            payload_dict(encode(event)),
        )
        for position, event in enumerate(events, start=1)
    ]


def queued(priority: int = 5, region: str = "eu-west") -> TaskQueued:
    return task_queued(TASK_ID, TaskType.ORDER, priority, 1.0, region, ResourceType.CPU, {}, T0)


def assigned(algorithm: Algorithm, priority: int = 5, full: tuple[str, ...] = ()) -> WorkerAssigned:
    task = TaskSnapshot(TASK_ID, priority, "eu-west", ResourceType.CPU)
    decision = decide(algorithm, task, demo_pools(full=full))
    chosen = decision.chosen
    assert chosen is not None
    return WorkerAssigned(TASK_ID, chosen.pool_id, chosen.name, decision, T0)


def test_an_in_region_choice_ranks_the_region_and_filters_the_rest() -> None:
    (view,) = decisions_view(stream(queued(), assigned(Algorithm.MIN_COST)))
    assert view["outcome"] == "assigned"
    assert view["position"] == 2
    assert view["correlation_id"] == "req-1"
    assert view["chosen_pool_name"] == "eu-west-cpu-pool"
    assert view["pools_ranked"] == 1
    fates = {c["name"]: (c["filtered_out"], c["rank"]) for c in view["candidates"]}
    assert fates["eu-west-cpu-pool"] == (None, 1)
    assert fates["us-east-cpu-pool"] == ("other region", None)
    assert fates["eu-west-gpu-pool"] == ("wrong resource type", None)


def test_a_fallback_outside_the_region_ranks_every_free_pool() -> None:
    event = assigned(Algorithm.MIN_COST, full=("eu-west-cpu-pool",))
    (view,) = decisions_view(stream(queued(), event))
    assert "outside eu-west (none free in eu-west)" in view["summary"]
    ranked = sorted((c["rank"], c["name"], c["rank_key"]) for c in view["candidates"] if c["rank"])
    assert ranked == [
        (1, "us-east-cpu-pool", [0.5, 1]),
        (2, "us-west-cpu-pool", [0.6, 3]),
        (3, "ap-east-cpu-pool", [0.65, 7]),
    ]
    assert view["chosen_pool_name"] == "us-east-cpu-pool"
    fates = {c["name"]: c["filtered_out"] for c in view["candidates"]}
    assert fates["eu-west-cpu-pool"] == "at capacity"


@pytest.mark.parametrize(
    ("algorithm", "priority", "ranked_by"),
    [
        (Algorithm.FIFO, 5, ["registration"]),
        (Algorithm.PRIORITY, 8, ["cost_per_unit", "registration"]),
        (Algorithm.PRIORITY, 5, ["cost_per_unit", "-capacity", "registration"]),
        (Algorithm.PRIORITY, 1, ["-free", "registration"]),
    ],
)
def test_each_algorithm_names_its_rank_key(
    algorithm: Algorithm, priority: int, ranked_by: list[str]
) -> None:
    (view,) = decisions_view(stream(queued(priority), assigned(algorithm, priority)))
    assert view["algorithm"] == str(algorithm)
    assert view["ranked_by"] == ranked_by
    (chosen,) = [c for c in view["candidates"] if c["chosen"]]
    assert len(chosen["rank_key"]) == len(ranked_by)


def test_a_deferral_explains_why_no_pool_could_take_the_task() -> None:
    everything = tuple(f"{r}-cpu-pool" for r in ("us-east", "us-west", "eu-west", "ap-east"))
    task = TaskSnapshot(TASK_ID, 5, "eu-west", ResourceType.CPU)
    decision = decide(Algorithm.FIFO, task, demo_pools(full=everything))
    (view,) = decisions_view(stream(queued(), TaskDeferred(TASK_ID, decision, T0)))
    assert view["outcome"] == "deferred"
    assert view["summary"] == "0/8 pools available: 4 at capacity, 4 wrong resource type"
    assert view["chosen_pool_id"] is None
    assert all(c["rank"] is None for c in view["candidates"])


def test_a_version_no_longer_known_is_still_shown_without_key_names() -> None:
    event = assigned(Algorithm.FIFO)
    event = replace(event, decision=replace(event.decision, algorithm_version=99))
    (view,) = decisions_view(stream(queued(), event))
    assert view["algorithm_version"] == 99
    assert view["ranked_by"] is None


def test_the_timeline_measures_an_open_state_up_to_now() -> None:
    history = stream(queued(), replace(assigned(Algorithm.FIFO), assigned_at=T0 + timedelta(2)))
    timeline = timeline_view(history, now=T0 + timedelta(days=2, seconds=30))
    assert timeline is not None
    assert timeline["status"] == "processing"
    assert timeline["queued_seconds"] == 2 * 86400
    assert timeline["processing_seconds"] == 30
    assert timeline["states"][-1]["left_at"] is None
    assert timeline["total_seconds"] == 2 * 86400 + 30


def test_a_task_cancelled_while_queued_ends_in_a_terminal_state() -> None:
    cancelled = TaskCancelled(
        TASK_ID, "no longer needed", T0 + timedelta(seconds=5), TaskStatus.QUEUED, None
    )
    timeline = timeline_view(stream(queued(), cancelled), now=T0 + timedelta(hours=1))
    assert timeline is not None
    assert [s["state"] for s in timeline["states"]] == ["queued", "cancelled"]
    assert timeline["queued_seconds"] == 5
    assert timeline["states"][-1]["seconds"] is None
    assert timeline["total_seconds"] == 5


def test_no_timeline_without_a_queued_event() -> None:
    assert timeline_view([], now=T0) is None
