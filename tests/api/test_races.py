"""Many clients racing on one task: exactly one finishing command wins, every other gets a
409 problem naming the state it found, and the log holds one terminal event."""

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from tests.api.conftest import TASK, wait_until


def test_racing_finishes_on_one_task_let_exactly_one_win(client: TestClient) -> None:
    for round_ in range(5):
        body = {**TASK, "priority": round_ + 1, "max_attempts": 1}  # a failure is final
        task_id = client.post("/api/v1/tasks", json=body).json()["id"]
        url = f"/api/v1/tasks/{task_id}"
        wait_until(lambda url=url: client.get(url).json()["status"] == "processing")
        attempts = ["complete", "fail", "cancel", "complete", "complete", "fail"] * 4

        def attempt(action: str, url: str = url) -> tuple[str, int, dict[str, str]]:
            cancel = action == "cancel"
            response = client.delete(url) if cancel else client.post(f"{url}/{action}")
            return action, response.status_code, response.json() if response.content else {}

        with ThreadPoolExecutor(max_workers=12) as pool:
            results = list(pool.map(attempt, attempts))

        winners = [action for action, status, _ in results if status in (200, 204)]
        assert len(winners) == 1, results
        losers = [(action, status, body) for action, status, body in results if status >= 300]
        assert {status for _, status, _ in losers} == {409}
        assert all(body["task_id"] == task_id for _, _, body in losers)
        final = client.get(url).json()["status"]
        assert (
            final == {"complete": "completed", "fail": "failed", "cancel": "cancelled"}[winners[0]]
        )
        assert all(body["current_status"] == final for _, _, body in losers)
        events = client.get(f"{url}/events").json()["events"]
        terminal = [e["type"] for e in events if e["type"] in ("TaskCompleted", "TaskFailed",
                                                                "TaskCancelled")]  # fmt: skip
        assert len(terminal) == 1
