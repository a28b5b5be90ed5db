"""The real app on a log whose older events were archived and removed (no archive directory
configured): whatever needs the removed history answers 410 Gone naming the hot log's start
and the segment that holds the position asked for; everything else works on the hot log."""

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.values import TaskStatus
from infrastructure.settings import Settings
from infrastructure.sql.db import reading, sql
from tests.api.conftest import TASK, ClientFactory, verified, wait_until
from tests.fakes import FakeClock
from tests.history_copies import HistoryCopies

TASKS = sql("SELECT id, queued_position, status FROM tasks ORDER BY queued_position")
CUT = 900


@pytest.fixture
def archived(history_copies: HistoryCopies, tmp_path: Path) -> dict[str, Any]:
    """A random history of 1,500 events with the events up to about 900 archived and
    removed: the start, the head, and tasks from before and after the start."""
    with history_copies.router("sqlite", 1500, 7, tmp_path, FakeClock()) as router:
        _, removed = router.archive(tmp_path / "archive", CUT, segment_events=400)
        assert removed is not None
        with reading(router.engines.read) as db:
            tasks = [tuple(row) for row in db.execute(TASKS)]
        head = router.store.head()
    start = removed.start
    before = [(task, status) for task, queued, status in tasks if queued <= start]
    return {
        "start": start,
        "head": head,
        "closed_before": next(t for t, s in before if s == TaskStatus.COMPLETED),
        "failed_before": next(t for t, s in before if s == TaskStatus.FAILED),
        "after": [task for task, queued, _ in tasks if queued > start],
    }


@pytest.fixture
def client(make_client: ClientFactory, archived: dict[str, Any]) -> TestClient:
    return make_client(scheduler="off")


def gone(response: Any, start: int) -> dict[str, Any]:
    assert response.status_code == 410, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"].endswith("history-archived")
    assert body["log_start"] == start
    assert body["first_position"] == start + 1
    assert f"the hot log starts at position {start + 1}" in body["detail"]
    return body


def test_the_log_before_the_start_is_gone_and_names_its_segment(
    client: TestClient, archived: dict[str, Any]
) -> None:
    start = archived["start"]
    body = gone(client.get("/api/v1/events", params={"after": 0}), start)
    assert body["segment"] == "000000000001-000000000400.jsonl.zst"
    body = gone(client.get("/api/v1/events", params={"after": 500}), start)
    assert body["segment"] == "000000000401-000000000800.jsonl.zst"
    gone(client.get("/api/v1/events/stream", params={"after": 10}), start)

    page = client.get("/api/v1/events", params={"after": start, "limit": 5}).json()
    assert [event["position"] for event in page["events"]] == list(range(start + 1, start + 6))
    assert page["head"] == archived["head"]
    logs = client.get("/api/v1/logs").json()
    assert logs["total"] == archived["head"] - start


def test_a_task_whose_history_was_archived_keeps_its_row_but_not_its_story(
    client: TestClient, archived: dict[str, Any]
) -> None:
    start, task = archived["start"], archived["closed_before"]
    found = client.get(f"/api/v1/tasks/{task}")
    assert found.status_code == 200
    assert found.json()["status"] == "completed"
    for part in ("events", "decisions", "timeline"):
        gone(client.get(f"/api/v1/tasks/{task}/{part}"), start)
    gone(client.get(f"/api/v1/tasks/{task}", params={"as_of": str(archived["head"])}), start)

    recent = archived["after"][-1]
    assert client.get(f"/api/v1/tasks/{recent}/events").status_code == 200
    decisions = client.get(f"/api/v1/tasks/{recent}/decisions")
    assert decisions.status_code == 200, decisions.text


def test_time_travel_answers_from_the_start_on_and_410_before_it(
    client: TestClient, archived: dict[str, Any]
) -> None:
    start, head = archived["start"], archived["head"]
    now = client.get("/api/v1/system/stats").json()
    then = client.get("/api/v1/system/stats", params={"as_of": str(head)})
    assert then.status_code == 200, then.text
    for field in ("tasks_processed", "tasks_pending", "tasks_delayed", "tasks_processing",
                  "tasks_completed", "tasks_failed", "tasks_cancelled", "average_latency",
                  "worker_utilization"):  # fmt: skip
        assert then.json()[field] == now[field], field
    pools_now = client.get("/api/v1/workers").json()["worker_pools"]
    pools_then = client.get("/api/v1/workers", params={"as_of": str(head)}).json()
    assert pools_then["worker_pools"] == pools_now
    assert client.get("/api/v1/workers", params={"as_of": str(start)}).status_code == 200
    gone(client.get("/api/v1/workers", params={"as_of": str(start - 1)}), start)
    gone(client.get("/api/v1/system/stats", params={"as_of": "1"}), start)
    gone(client.get("/api/v1/workers", params={"as_of": "2000-01-01T00:00:00Z"}), start)


def test_what_if_replays_the_hot_log_and_410s_before_it(
    client: TestClient, archived: dict[str, Any]
) -> None:
    start = archived["start"]
    replay = client.post("/api/v1/replays", json={"algorithm": "min_cost"})
    assert replay.status_code == 200, replay.text
    counted = replay.json()["tasks"] + replay.json()["not_replayed"]
    assert counted == len(archived["after"]), "the tasks queued after the start"
    gone(client.post("/api/v1/replays", json={"algorithm": "fifo", "to": str(start - 1)}), start)


def test_commands_on_a_task_whose_start_was_archived_answer_the_task(
    client: TestClient, archived: dict[str, Any]
) -> None:
    task = archived["failed_before"]
    retried = client.post(f"/api/v1/tasks/{task}/retry")
    assert retried.status_code == 200, retried.text
    assert retried.json()["id"] == task
    assert retried.json()["status"] in ("queued", "delayed")
    assert client.get(f"/api/v1/tasks/{task}").json()["status"] == retried.json()["status"]
    again = client.post(f"/api/v1/tasks/{task}/retry", headers={"Idempotency-Key": "r-1"})
    assert again.status_code == 409, "only a failed task is retried"

    report = verified(client)
    assert report["ok"], report


def test_retention_runs_in_the_server_and_operators_see_it(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    archive = tmp_path / "segments"
    client = make_client(archive_after="1s", archive_dir=archive, archive_check_s=0.2)
    for _ in range(5):
        assert client.post("/api/v1/tasks", json=TASK).status_code == 201

    def moved() -> dict[str, Any] | None:
        log = client.get("/api/v1/health").json()["log"]
        return log if log["start"] > 0 and log["retention"]["last_run"] else None

    log = wait_until(moved, timeout=15)
    assert log["first_position"] == log["start"] + 1
    assert log["segments"] >= 1
    on_disk = sum(path.stat().st_size for path in archive.glob("*.jsonl.zst"))
    assert 0 < log["bytes"] <= on_disk, "the segments written (retention may have gone on)"
    assert log["newest_cut"] >= log["start"]
    assert log["retention"]["status"] == "running"
    assert log["retention"]["archive_after_s"] == 1.0
    assert log["retention"]["last_run"]["error"] is None
    from_the_archive = client.get("/api/v1/events", params={"after": 0, "limit": 1}).json()
    assert from_the_archive["events"][0]["position"] == 1, "read through from the segments"
    metrics = client.get("/metrics").text
    gauge = re.search(r"^taskrouterx_log_start_position (\d+)\.0$", metrics, re.MULTILINE)
    assert gauge is not None
    assert int(gauge[1]) >= log["start"]
    assert "taskrouterx_archived_events_total" in metrics
    assert 'taskrouterx_archive_runs_total{outcome="ok"}' in metrics
    assert verified(client)["ok"]


def test_archive_after_needs_a_directory_and_a_duration() -> None:
    with pytest.raises(ValueError, match="archive_after needs archive_dir"):
        Settings(archive_after="7d")
    assert Settings(archive_after="7d", archive_dir="/tmp/a").archive_after == timedelta(days=7)
    assert Settings(archive_after="90m", archive_dir="/tmp/a").archive_after == timedelta(
        minutes=90
    )
    with pytest.raises(ValueError, match="archive_after"):
        Settings(archive_after="soon", archive_dir="/tmp/a")


def test_with_the_archive_configured_the_log_and_a_task_story_read_through(
    make_client: ClientFactory, archived: dict[str, Any], tmp_path: Path
) -> None:
    client = make_client(scheduler="off", archive_dir=tmp_path / "archive")
    start, task = archived["start"], archived["closed_before"]
    page = client.get("/api/v1/events", params={"after": start - 3, "limit": 6}).json()
    assert [event["position"] for event in page["events"]] == list(range(start - 2, start + 4))
    first = client.get("/api/v1/events", params={"after": 0, "limit": 2}).json()["events"]
    assert [event["position"] for event in first] == [1, 2]
    assert first[0]["metadata"]["recorded_at"].endswith("+00:00")
    of_type = client.get("/api/v1/events", params={"type": "WorkerPoolRegistered", "limit": 3})
    assert [event["type"] for event in of_type.json()["events"]] == ["WorkerPoolRegistered"] * 3

    story = client.get(f"/api/v1/tasks/{task}/events")
    assert story.status_code == 200, story.text
    events = story.json()["events"]
    assert [event["version"] for event in events] == list(range(1, len(events) + 1))
    assert events[0]["type"] == "TaskQueued"
    assert client.get(f"/api/v1/tasks/{task}/timeline").status_code == 200
    explained = client.get(f"/api/v1/tasks/{task}/decisions")
    assert explained.status_code == 200, explained.text
    decisions = explained.json()["decisions"]
    assert decisions, "a completed task was assigned at least once"
    assert all(d["candidates"] for d in decisions), "each board rebuilt from the segments"
    then = client.get(f"/api/v1/tasks/{task}", params={"as_of": str(archived["head"])})
    assert then.json()["status"] == "completed"
