"""Many clients racing on one task: exactly one finishing command wins, every other gets a
409 problem naming the state it found, and the log holds one terminal event."""

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from tests.api.conftest import TASK, wait_until


def test_racing_finishes_on_one_task_let_exactly_one_win(client: TestClient) -> None:
    for round_ in range(5):
        task_id = client.post("/api/v1/tasks", json={**TASK, "priority": round_ + 1}).json()["id"]
        url = f"/api/v1/tasks/{task_id}"
        wait_until(lambda url=url: client.get(url).json()["status"] == "processing")
        attempts = ["complete", "fail", "cancel", "complete", "complete", "fail"] * 4

        def attempt(action: str, url: str = url) -> tuple[str, int, dict[str, str]]:
            cancel = action == "cancel"
            response = client.delete(url) if cancel else client.post(f"{url}/{action}")
            return action, response.status_code, response.json() if response.content else {}

        with ThreadPoolExecutor(max_workers=12) as pool:
            results = list(pool.map(attempt, attempts))

        winners = [(action, body) for action, status, body in results if status == 200]
        assert len(winners) == 1, results
        ((won, final),) = winners
        assert won in ("complete", "fail")
        losers = [(action, status, body) for action, status, body in results if status != 200]
        assert {status for _, status, _ in losers} == {409}
        assert all(body["task_id"] == task_id for _, _, body in losers)
        for action, _, body in losers:
            # a finish that lost found the winner's state; a cancel (queued tasks only)
            # may also have run first and found the task still processing
            allowed = {final["status"], "processing"} if action == "cancel" else {final["status"]}
            assert body["current_status"] in allowed
        events = client.get(f"{url}/events").json()["events"]
        terminal = [e["type"] for e in events if e["type"] in ("TaskCompleted", "TaskFailed",
                                                                "TaskCancelled")]  # fmt: skip
        assert len(terminal) == 1
