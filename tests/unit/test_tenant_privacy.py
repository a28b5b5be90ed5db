"""What a key bound to one tenant reads of the others: a preemption's beneficiary and the
other tenants of a decision's stage are cut out, in event views, in decision views and in
the live stream's shared frames."""

import orjson

from application.tenant_privacy import OTHER, event_view_for, stage_view_for
from interfaces.http.event_stream import _readable
from interfaces.http.log_fanout import Frame, frame

PREEMPTED = {
    "position": 7,
    "stream_id": "task-v1",
    "type": "TaskPreempted",
    "payload": {
        "task_id": "v1", "tenant": "a", "beneficiary": "b9", "beneficiary_tenant": "b",
        "rule": "a over its share (1; 0.75 without the task >= b's 0.25 with it): lowest "
        "priority, newest",
    },
}  # fmt: skip
ASSIGNED = {
    "position": 8,
    "stream_id": "task-b9",
    "type": "WorkerAssigned",
    "payload": {
        "decision": {
            "tenants": {
                "chosen": "b", "names": ["a", "b"], "weights": [1.0, 1.0],
                "running_cpu": [3, 1], "order": [[4], [9]],
                "summary": "b chosen at 0.25 of its share; a waits: over its share (0.75 > 0.25)",
            }
        }
    },
}  # fmt: skip


def test_a_preemption_read_by_the_victims_tenant_does_not_name_the_beneficiary() -> None:
    seen = event_view_for(PREEMPTED, "a")["payload"]
    assert (seen["beneficiary"], seen["beneficiary_tenant"]) == (None, OTHER)
    assert "b's" not in seen["rule"]
    assert "another tenant's 0.25" in seen["rule"]
    assert event_view_for(PREEMPTED, "b") == PREEMPTED  # its own task: nothing to hide


def test_a_recorded_stage_keeps_only_the_readers_column() -> None:
    stage = event_view_for(ASSIGNED, "b")["payload"]["decision"]["tenants"]
    assert (stage["names"], stage["running_cpu"], stage["order"]) == (["b"], [1], [[9]])
    assert stage["summary"] == "b chosen at 0.25 of its share; 1 other tenant competed"
    theirs = event_view_for(ASSIGNED, "a")["payload"]["decision"]["tenants"]
    assert theirs["chosen"] == OTHER
    assert theirs["summary"] == (
        f"{OTHER} was chosen; a waits: over its share (0.75 > 0.25); 1 other tenant competed"
    )


def test_a_stage_view_keeps_only_the_readers_row() -> None:
    view = {
        "chosen": "b",
        "summary": "b chosen at 0.25 of its share; a waits: at quota 3/3 cpu",
        "tenants": [{"name": "a", "why": "at quota 3/3 cpu"}, {"name": "b", "why": None}],
    }
    mine = stage_view_for(view, "a")
    assert mine is not None
    assert mine["tenants"] == [{"name": "a", "why": "at quota 3/3 cpu"}]
    assert (
        mine["summary"] == f"{OTHER} was chosen; a waits: at quota 3/3 cpu; 1 other tenant competed"
    )
    assert stage_view_for(None, "a") is None


def test_the_live_streams_shared_frames_are_cut_for_a_bound_reader() -> None:
    held = Frame(7, "task-v1", "TaskPreempted", frame(PREEMPTED))
    assert _readable(held, None) == held.data
    data = _readable(held, "a")
    assert data.startswith(b"id: 7\nevent: TaskPreempted\ndata: ")
    body = orjson.loads(data.split(b"data: ", 1)[1])
    assert body["payload"]["beneficiary"] is None
    other = Frame(9, "task-v1", "TaskLeased", b"id: 9\n\n")
    assert _readable(other, "a") is other.data
