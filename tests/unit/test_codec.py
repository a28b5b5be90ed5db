"""Events survive the trip to JSON and back, and old payload versions are upcast."""

from datetime import UTC, datetime

import orjson
import pytest

from domain.events import EVENT_TYPES, UPCASTERS, AlgorithmSwitched, TaskCancelled, TaskQueued
from domain.values import Algorithm, ResourceType, TaskType
from infrastructure.codec import decode, encode

NOW = datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    "event",
    [
        TaskQueued("t", TaskType.QUERY, 3, 0.25, "eu", None, {"a": [1, {"b": None}]}, NOW),
        TaskQueued("t", TaskType.ORDER, 10, 7.0, "eu", ResourceType.GPU, {}, NOW),
        TaskCancelled("t", "why", NOW),
        AlgorithmSwitched(Algorithm.FIFO, Algorithm.MIN_COST, NOW),
    ],
)
def test_round_trip(event: object) -> None:
    assert decode(type(event).__name__, 1, encode(event)) == event  # type: ignore[arg-type]


def test_every_event_type_is_registered_by_name() -> None:
    assert all(name == cls.__name__ for name, cls in EVENT_TYPES.items())
    assert len(EVENT_TYPES) == 11


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
    assert event == TaskQueued("t", TaskType.ORDER, 4, 1.0, "us", None, {"k": 1}, NOW)
