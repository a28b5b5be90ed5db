"""The typed client against the real app (its HTTP client sends through the app): every
call it has so far, pagination, idempotent resubmission, problem details as exceptions,
and its result types held to the server's OpenAPI document."""

import subprocess
import sys
import types
import typing
from typing import Any

import pytest
from fastapi.testclient import TestClient

from interfaces.client import Client, Pool, ProblemError, Task
from interfaces.client.types import Heartbeat, Lease, LeasedTask, LeaseGrant, TaskPage
from tests.api.conftest import ClientFactory, wait_until

ORDER = {"type": "order", "priority": 5, "cost": 1.0, "region": "us-east"}


@pytest.fixture
def router(make_client: ClientFactory) -> Client:
    return Client(http=bare(make_client()))


def bare(http: TestClient) -> TestClient:
    """The test client without the JSON content type it sends by default: the client must
    say it itself (the server refuses a command without it)."""
    del http.headers["Content-Type"]
    return http


def test_a_task_is_submitted_read_and_found_in_the_lists(router: Client) -> None:
    task = router.submit("order", 7, 2.5, "eu-west", resource_type="cpu", metadata={"n": 1})
    assert (task["priority"], task["cost"], task["task_metadata"]) == (7, 2.5, {"n": 1})
    assert router.get(task["id"])["id"] == task["id"]
    placed = wait_until(lambda: (t := router.get(task["id"]))["status"] == "processing" and t)
    assert placed["pool_id"] is not None
    assert [t["id"] for t in router.tasks(status="processing")] == [task["id"]]
    assert router.stats()["tasks_processing"] == 1


def test_every_page_is_iterated_each_task_once(router: Client) -> None:
    submitted = {router.submit("order", 1 + n % 10, 1.0, "us-east")["id"] for n in range(25)}
    listed = [task["id"] for task in router.tasks(page_size=10)]
    assert len(listed) == 25
    assert set(listed) == submitted


def test_a_submission_sent_again_with_its_key_is_made_once(router: Client) -> None:
    first = router.submit(**ORDER, idempotency_key="order-42")
    again = router.submit(**ORDER, idempotency_key="order-42")
    assert again["id"] == first["id"]
    assert len(list(router.tasks())) == 1
    assert router.submit(**ORDER)["id"] != first["id"]  # a new key each call by default


def test_cancel_and_retry(make_client: ClientFactory) -> None:
    http = bare(make_client())
    router = Client(http=http)
    doomed = router.submit(**ORDER)
    cancelled = router.cancel(doomed["id"], reason="not needed")
    assert (cancelled["status"], cancelled["error"]) == ("cancelled", "not needed")

    task = router.submit(**ORDER, max_attempts=1)
    wait_until(lambda: router.get(task["id"])["status"] == "processing")
    failed = http.post(
        f"/api/v1/tasks/{task['id']}/fail", json={"reason": "boom"},
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert failed.is_success
    assert router.get(task["id"])["status"] == "failed"
    again = router.retry(task["id"])
    assert again["status"] in ("delayed", "queued", "processing")


def test_a_refusal_raises_its_problem_details(router: Client) -> None:
    with pytest.raises(ProblemError) as invalid:
        router.submit("order", 11, 1.0, "us-east")
    assert invalid.value.status == 422
    assert invalid.value.title == "Unprocessable Entity"
    assert [error["location"] for error in invalid.value.errors] == [["body", "priority"]]
    with pytest.raises(ProblemError) as missing:
        router.get("00000000-0000-0000-0000-000000000000")
    assert missing.value.status == 404
    assert "does not exist" in missing.value.detail


def test_importing_the_client_or_the_worker_loads_neither_the_server_nor_its_settings() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, interfaces.client, interfaces.worker; print(sorted(m for m in "
         "('fastapi', 'sqlalchemy', 'pydantic_settings', 'infrastructure', 'interfaces.http') "
         "if m in sys.modules))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert loaded.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("typed", "schema"),
    [
        (Task, "TaskOut"),
        (Lease, "LeaseHolder"),
        (TaskPage, "TaskPage"),
        (Pool, "PoolOut"),
        (LeasedTask, "LeasedTask"),
        (LeaseGrant, "LeaseOut"),
        (Heartbeat, "HeartbeatOut"),
    ],
)
def test_the_result_types_are_the_servers(
    make_client: ClientFactory, typed: Any, schema: str
) -> None:
    document = make_client().get("/openapi.json").json()["components"]["schemas"]
    properties = document[schema]["properties"]
    hints = typing.get_type_hints(typed)
    assert set(hints) == set(properties), schema
    assert set(document[schema].get("required", [])) <= set(hints)
    for name, hint in hints.items():
        assert _json_types(hint) == _schema_types(properties[name], document), (schema, name)


def _json_types(hint: Any) -> set[str]:
    """The JSON schema types (or referenced schema names) a Python type stands for."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return set().union(*(_json_types(arg) for arg in typing.get_args(hint)))
    origin = typing.get_origin(hint) or hint
    names = {str: "string", int: "integer", float: "number", bool: "boolean",
             dict: "object", list: "array", type(None): "null"}  # fmt: skip
    if origin in names:
        return {names[origin]}
    return {{Lease: "LeaseHolder", Task: "TaskOut", LeaseGrant: "LeaseOut"}[hint]}


def _schema_types(schema: dict[str, Any], document: dict[str, Any]) -> set[str]:
    if "anyOf" in schema:
        return set().union(*(_schema_types(option, document) for option in schema["anyOf"]))
    if "$ref" in schema:
        return {schema["$ref"].rsplit("/", 1)[-1]}
    return {schema["type"]}


def test_pools_the_algorithm_and_the_audit(make_client: ClientFactory) -> None:
    router = Client(http=bare(make_client()))
    pool = router.register_pool("lab-gpu", "eu-west", "gpu", 2.5, 3, execution="external")
    assert (pool["name"], pool["capacity"], pool["execution"]) == ("lab-gpu", 3, "external")
    assert router.set_capacity(pool["id"], 5)["capacity"] == 5
    assert router.drain(pool["id"])["draining"] is True
    assert router.resume(pool["id"])["draining"] is False
    assert pool["id"] in {each["id"] for each in router.pools()}
    assert router.switch_algorithm("min_cost") == "min_cost"

    task = router.submit(**ORDER)
    wait_until(lambda: router.get(task["id"])["status"] == "processing")
    (decision,) = router.decisions(task["id"])
    assert (decision["outcome"], decision["algorithm"]) == ("assigned", "min_cost")
    states = [step["state"] for step in router.timeline(task["id"])["states"]]
    assert states[-1] == "processing"
    assert wait_until(lambda: (report := router.verify())["behind"] == 0 and report)["ok"]
    replay = router.what_if("fifo", tenants={"default": {"weight": 2}})
    assert replay["tasks"] == 1
    with pytest.raises(ProblemError) as unknown:
        router.what_if("fifo", tenants={"nobody": {"weight": 2}})
    assert unknown.value.status == 422


def test_a_full_verification_from_the_start(router: Client) -> None:
    router.submit(**ORDER)
    job = router.start_verification()
    assert job["status"] in ("running", "done")
    done = wait_until(lambda: (j := router.verification(job["id"]))["status"] != "running" and j)
    assert done["status"] == "done"
    assert done["report"]["ok"] is True
    assert done["report"]["events_checked"] >= 9  # the demo pools and the task
    with pytest.raises(ProblemError) as unknown:
        router.verification("no-such-job")
    assert unknown.value.status == 404
