"""prometheus-client's multiprocess mode on the real server: with PROMETHEUS_MULTIPROC_DIR
set, counters go to that directory and a scrape adds up every process's."""

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.support import server, wait_until


def test_metrics_in_multiprocess_mode(tmp_path: Path) -> None:
    directory = tmp_path / "prometheus"
    directory.mkdir()
    task = {"type": "order", "priority": 5, "cost": 1, "region": "us-east"}
    with server(tmp_path / "m.db", PROMETHEUS_MULTIPROC_DIR=str(directory)) as client:
        for _ in range(3):
            assert client.post("/api/v1/tasks", json=task).status_code == 201
        wait_until(lambda: client.get("/api/v1/system/stats").json()["tasks_completed"]
                   + client.get("/api/v1/system/stats").json()["tasks_failed"] == 3)  # fmt: skip
        text = client.get("/metrics").text
    found = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    posted = (("method", "POST"), ("route", "/api/v1/tasks"), ("status", "201"))
    assert found[("taskrouterx_http_requests_total", posted)] == 3
    assert found[("taskrouterx_events_appended_total", (("type", "TaskQueued"),))] == 3
    assert found[("taskrouterx_tasks", (("status", "completed"),))] >= 1
    assert list(directory.glob("*.db")), "the counters live in the multiprocess directory"
