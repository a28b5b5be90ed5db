"""Events survive the trip to JSON and back, and old payload versions are upcast."""

from datetime import UTC, datetime

import orjson
import pytest

from domain.events import (
    EVENT_TYPES,
    UPCASTERS,
    AlgorithmSwitched,
    DomainEvent,
    PoolSlotClaimed,
    TaskCancelled,
    TaskFailed,
    TaskLeased,
    TaskPreempted,
    TaskReady,
    TenantChanged,
    TenantCreated,
    WorkerPoolRegistered,
)
from domain.values import Algorithm, Execution, Limits, ResourceType, TaskStatus, TaskType
from infrastructure.codec import decode, encode
from tests.builders import T0
from tests.builders import task_queued as queued

NOW = T0
LATER = datetime(2026, 5, 4, 3, 2, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    "event",
    [
        queued(type=TaskType.QUERY, metadata={"a": [1, {"b": None}]}, cost=0.25),
        queued(resource_type=ResourceType.GPU, timeout_s=2.5, not_before=LATER),
        TaskCancelled("t", "why", NOW, TaskStatus.PROCESSING, "p1"),
        TaskFailed("t", "p1", "boom", NOW, LATER, 2, None),
        TaskLeased("t", "p1", 1, "w-1", "token", NOW, LATER),
        AlgorithmSwitched(Algorithm.FIFO, Algorithm.MIN_COST, NOW),
        queued(tenant="team-a", preemptible=True),
        TenantCreated("team-a", 2.0, Limits(cpu=4), Limits(cpu=2, gpu=None), NOW),
        TenantChanged("default", 0.5, Limits(gpu=1), Limits(0, 0), LATER),
        TaskReady("t", 7, "eu", ResourceType.CPU, NOW, "team-a", True),
        TaskPreempted("t", "p1", 2, "team-b", "u", "team-a", "rule", 0.75, 0.5, 41, "r1", NOW),
    ],
)
def test_round_trip(event: DomainEvent) -> None:
    assert decode(event.type_name(), event.schema_version, encode(event)) == event


def test_every_event_type_is_registered_by_name() -> None:
    assert all(name == cls.__name__ for name, cls in EVENT_TYPES.items())
    assert len(EVENT_TYPES) == 25


def test_payloads_stored_before_the_task_lifecycle_read_as_they_meant() -> None:
    """Version 1 payloads: a task had the default retry policy and no delay; a failure was
    final; only a queued task could be cancelled; every pool ran in the simulator."""
    old_queued = orjson.dumps(
        {"task_id": "t", "type": "order", "priority": 4, "cost": 1.0, "region": "us",
         "resource_type": None, "metadata": {"k": 1}, "enqueued_at": NOW.isoformat()}
    )  # fmt: skip
    assert decode("TaskQueued", 1, old_queued) == queued()
    old_failed = orjson.dumps(
        {"task_id": "t", "pool_id": "p", "reason": "x", "enqueued_at": NOW.isoformat(),
         "failed_at": LATER.isoformat()}
    )  # fmt: skip
    assert decode("TaskFailed", 1, old_failed) == TaskFailed("t", "p", "x", NOW, LATER, 1, None)
    old_cancelled = orjson.dumps({"task_id": "t", "reason": "r", "cancelled_at": NOW.isoformat()})
    assert decode("TaskCancelled", 1, old_cancelled) == TaskCancelled(
        "t", "r", NOW, TaskStatus.QUEUED, None
    )
    old_pool = orjson.dumps(
        {"pool_id": "p", "name": "n", "region": "us", "resource_type": "cpu",
         "cost_per_unit": 1.0, "capacity": 2, "registered_at": NOW.isoformat()}
    )  # fmt: skip
    old_claim = orjson.dumps({"pool_id": "p", "task_id": "t"})
    assert decode("PoolSlotClaimed", 1, old_claim) == PoolSlotClaimed("p", "t", 1)
    pool = decode("WorkerPoolRegistered", 1, old_pool)
    assert isinstance(pool, WorkerPoolRegistered)
    assert pool.execution is Execution.SIMULATED


def test_tasks_queued_before_tenants_are_the_default_tenants_and_not_preemptible() -> None:
    before = orjson.loads(encode(queued()))
    del before["tenant"], before["preemptible"]
    event = decode("TaskQueued", 2, orjson.dumps(before))
    assert event == queued()
    assert (event.tenant, event.preemptible) == ("default", False)


def test_tasks_made_ready_before_preemption_are_not_preemptible() -> None:
    ready = TaskReady("t", 7, "eu", ResourceType.CPU, NOW, "team-a", True)
    before = orjson.loads(encode(ready))
    del before["preemptible"]
    event = decode("TaskReady", 2, orjson.dumps(before))
    assert isinstance(event, TaskReady)
    assert (event.tenant, event.preemptible) == ("team-a", False)


def test_an_old_payload_is_upcast_on_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """A v0 TaskQueued stored `meta` and no resource type; reading it yields today's event."""

    def v0_to_v1(payload: dict) -> dict:  # type: ignore[type-arg]
        payload = dict(payload)
        payload["metadata"] = payload.pop("meta")
        payload["resource_type"] = None
        return payload

    monkeypatch.setitem(UPCASTERS, ("TaskQueued", 0), v0_to_v1)
    stored = orjson.dumps(
        {
            "task_id": "t",
            "type": "order",
            "priority": 4,
            "cost": 1,
            "region": "us",
            "meta": {"k": 1},
            "enqueued_at": NOW.isoformat(),
        }
    )
    event = decode("TaskQueued", 0, stored)
    assert event == queued()
