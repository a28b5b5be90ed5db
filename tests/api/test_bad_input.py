"""Bad input gets RFC 9457 problem details and writes nothing; nothing produces a 500."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import TASK, ClientFactory, head

BAD_TASKS = [
    ({**TASK, "priority": 0}, "body.priority"),
    ({**TASK, "priority": 11}, "body.priority"),
    ({**TASK, "priority": "high"}, "body.priority"),
    ({**TASK, "priority": True}, "body.priority"),
    ({**TASK, "priority": "5"}, "body.priority"),
    ({**TASK, "priority": 5.0}, "body.priority"),
    ({**TASK, "cost": True}, "body.cost"),
    ({**TASK, "cost": "1.5"}, "body.cost"),
    ({**TASK, "cost": 0}, "body.cost"),
    ({**TASK, "cost": -3}, "body.cost"),
    ({**TASK, "type": "batch"}, "body.type"),
    ({**TASK, "region": ""}, "body.region"),
    ({**TASK, "region": "x" * 65}, "body.region"),
    ({**TASK, "resource_type": "tpu"}, "body.resource_type"),
    ({**TASK, "metadata": [1, 2]}, "body.metadata"),
    ({**TASK, "metadata": {"big": 10**30}}, "body.metadata"),
    ({**TASK, "metadata": {"blob": "x" * 20000}}, "body.metadata"),
    ({**TASK, "metadata": {"a": [[[[[[[[["too deep"]]]]]]]]]}}, "body.metadata"),
    ({**TASK, "unexpected": 1}, "body.unexpected"),
    ({k: v for k, v in TASK.items() if k != "cost"}, "body.cost"),
    ({**TASK, "retry_backoff_s": "8"}, "body.retry_backoff_s"),
    ({**TASK, "retry_backoff_s": True}, "body.retry_backoff_s"),
    ({**TASK, "retry_backoff_max_s": "8"}, "body.retry_backoff_max_s"),
    ({**TASK, "retry_backoff_max_s": True}, "body.retry_backoff_max_s"),
    ({**TASK, "timeout_s": True}, "body.timeout_s"),
    ({**TASK, "timeout_s": "30"}, "body.timeout_s"),
    ({**TASK, "max_attempts": "3"}, "body.max_attempts"),
    ({**TASK, "not_before": -1}, "body.not_before"),
    ({**TASK, "not_before": 1_900_000_000}, "body.not_before"),
    ({**TASK, "not_before": "1900000000"}, "body.not_before"),
    ({**TASK, "not_before": "tomorrow"}, "body.not_before"),
]


@pytest.mark.parametrize(
    ("body", "where"), BAD_TASKS, ids=[w + str(i) for i, (_, w) in enumerate(BAD_TASKS)]
)
def test_invalid_task_is_a_problem_and_writes_nothing(
    idle_client: TestClient, body: dict, where: str
) -> None:  # type: ignore[type-arg]
    before = head(idle_client)
    response = idle_client.post("/api/v1/tasks", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert {"type", "title", "status", "detail"} <= set(problem)
    assert problem["status"] == 422
    assert problem["detail"].startswith(where)
    assert head(idle_client) == before


def test_malformed_json_is_a_problem(idle_client: TestClient) -> None:
    response = idle_client.post(
        "/api/v1/tasks", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "body",
    [
        b'{"type":"order","priority":5,"cost":NaN,"region":"us-east"}',
        b'{"type":"order","priority":5,"cost":Infinity,"region":"us-east"}',
        b'{"type":"order","priority":5,"cost":1,"region":"us-east","metadata":{"x":[NaN]}}',
    ],
)
def test_non_finite_numbers_are_rejected(idle_client: TestClient, body: bytes) -> None:
    before = head(idle_client)
    response = idle_client.post(
        "/api/v1/tasks", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert head(idle_client) == before


def test_lone_surrogates_in_metadata_are_rejected(idle_client: TestClient) -> None:
    body = b'{"type":"order","priority":5,"cost":1,"region":"us-east","metadata":{"k":"\\ud800"}}'
    response = idle_client.post(
        "/api/v1/tasks", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("get", "/api/v1/tasks", {"page": 0}),
        ("get", "/api/v1/tasks", {"page_size": 101}),
        ("get", "/api/v1/tasks", {"status": "sleeping"}),
        ("get", "/api/v1/events", {"after": -1}),
        ("get", "/api/v1/events", {"limit": 0}),
        ("get", "/api/v1/logs", {"task_id": "nope"}),
        ("get", "/api/v1/simulate/not-a-uuid", {}),
    ],
)
def test_invalid_queries_are_problems(
    client: TestClient, method: str, path: str, params: dict
) -> None:  # type: ignore[type-arg]
    response = getattr(client, method)(path, params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "query", ["/api/v1/events?type=TaskQueued&type=TaskCompleted", "/api/v1/logs?page=1&page=2"]
)
def test_a_query_parameter_given_twice_is_a_problem(client: TestClient, query: str) -> None:
    """FastAPI would keep the last value and answer as if the first was never sent."""
    response = client.get(query)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    name = query.split("?")[1].split("=")[0]
    assert response.json()["detail"] == f"query.{name}: give this parameter once"


@pytest.mark.parametrize(
    "query",
    ["/api/v1/events?after=0.0", "/api/v1/events?limit=1e2", "/api/v1/logs?page=%201",
     "/api/v1/system/series?window_s=60.0"],
)  # fmt: skip
def test_an_integer_written_otherwise_than_in_digits_is_a_problem(
    client: TestClient, query: str
) -> None:
    """pydantic reads "0.0" as the integer 0; this API takes only digits (the contract
    fuzzer found `after=0.0` accepted)."""
    response = client.get(query)
    assert response.status_code == 422, response.text
    name = query.split("?")[1].split("=")[0]
    assert response.json()["detail"] == f"query.{name}: write a whole number in digits"
    assert client.get(query.split("=")[0] + "=60").status_code == 200


def test_unknown_route_is_a_problem(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
task_like = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["order", "simulation", "query", "other", 3]),
        "priority": st.one_of(
            st.integers(-5, 15),
            st.text(max_size=3),
            st.floats(allow_nan=False, allow_infinity=False),
        ),
        "cost": st.one_of(
            st.floats(allow_nan=False, allow_infinity=False),
            st.integers(-10, 10**12),
            st.text(max_size=3),
        ),
        "region": st.one_of(st.text(max_size=70), st.sampled_from(["us-east", "eu-west"])),
        "metadata": json_values,
        "resource_type": st.sampled_from(["cpu", "gpu", "tpu", None, 1]),
        "extra": json_values,
    },
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=task_like)
def test_fuzzed_task_bodies_never_fail_the_server(idle_client: TestClient, body: dict) -> None:  # type: ignore[type-arg]
    before = head(idle_client)
    response = idle_client.post("/api/v1/tasks", json=body)
    assert response.status_code in (201, 422), response.text
    if response.status_code == 422:
        assert response.headers["content-type"] == "application/problem+json"
        assert head(idle_client) == before
    else:
        assert head(idle_client) == before + 1


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(
        [
            "/api/v1/tasks",
            "/api/v1/logs",
            "/api/v1/events",
            "/api/v1/workers",
            "/api/v1/system/stats",
        ]
    ),
    params=st.dictionaries(
        st.sampled_from(
            [
                "page",
                "page_size",
                "status",
                "type",
                "region",
                "after",
                "limit",
                "stream",
                "task_id",
                "event_type",
                "as_of",
                "correlation_id",
            ]
        ),
        st.one_of(
            st.integers(-(2**70), 2**70).map(str),
            st.text(max_size=30),
            st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
        ),
        max_size=4,
    ),
)
def test_fuzzed_queries_never_fail_the_server(client: TestClient, path: str, params: dict) -> None:  # type: ignore[type-arg]
    response = client.get(path, params=params)
    assert response.status_code in (200, 422), response.text


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/api/v1/workers",
            {
                "name": "n",
                "region": "r",
                "resource_type": "cpu",
                "cost_per_unit": 1,
                "capacity": True,
            },
        ),
        (
            "/api/v1/workers",
            {
                "name": "n",
                "region": "r",
                "resource_type": "cpu",
                "cost_per_unit": "1",
                "capacity": 2,
            },
        ),
        ("/api/v1/simulate", {"task_count": True}),
        ("/api/v1/workers/lab/lease", {"worker_id": "w", "wait_s": "8"}),
        ("/api/v1/workers/lab/lease", {"worker_id": "w", "wait_s": True}),
        ("/api/v1/workers/lab/lease", {"worker_id": "w", "max_tasks": "2"}),
        ("/api/v1/simulate", {"task_count": 5, "priority_range": [1, "9"]}),
    ],
)
def test_wrongly_typed_numbers_are_rejected(idle_client: TestClient, path: str, body: dict) -> None:  # type: ignore[type-arg]
    before = head(idle_client)
    assert idle_client.post(path, json=body).status_code == 422
    assert head(idle_client) == before


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.dictionaries(
        st.sampled_from(["algorithm", "from", "to", "other"]),
        st.one_of(
            st.sampled_from(["fifo", "priority", "min_cost"]),
            st.integers(-(2**70), 2**70),
            st.text(max_size=30),
            st.floats(allow_nan=False, allow_infinity=False),
            st.booleans(),
            st.none(),
            st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
        ),
        max_size=4,
    )
)
def test_fuzzed_replay_requests_never_fail_the_server(client: TestClient, body: dict) -> None:  # type: ignore[type-arg]
    response = client.post("/api/v1/replays", json=body)
    assert response.status_code in (200, 422), response.text


def test_bodies_over_the_limit_are_413_problems_and_write_nothing(
    make_client: ClientFactory,
) -> None:
    client = make_client(scheduler="off", max_body_bytes=4096)
    before = head(client)
    padded = {**TASK, "metadata": {"note": "x" * 5000}}
    declared = client.post("/api/v1/tasks", json=padded)
    assert declared.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"
    assert declared.json()["detail"] == "request body larger than 4096 bytes"

    def chunks() -> Iterator[bytes]:
        yield b'{"type": "order", "priority": 5, "cost": 1.5, "region": "us-east", '
        yield b'"metadata": {"note": "' + b"x" * 5000 + b'"}}'

    streamed = client.post(
        "/api/v1/tasks", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert streamed.json()["status"] == 413
    assert head(client) == before
    assert client.post("/api/v1/tasks", json=TASK).status_code == 201


def test_metadata_nested_eight_levels_is_accepted(idle_client: TestClient) -> None:
    deepest = {"a": [[[[[[["ok"]]]]]]]}
    response = idle_client.post("/api/v1/tasks", json={**TASK, "metadata": deepest})
    assert response.status_code == 201
    assert response.json()["task_metadata"] == deepest


def test_every_number_in_a_request_body_is_strict() -> None:
    """A new numeric field cannot slip in lax: each one in every request model is declared
    strict (a string or a boolean in its place is refused)."""
    import typing

    from interfaces.http import schemas

    lax = []
    for name, model in vars(schemas).items():
        if not (isinstance(model, type) and issubclass(model, schemas.Strict)):
            continue
        for field_name, field in model.model_fields.items():
            kinds = set(typing.get_args(field.annotation)) or {field.annotation}
            if kinds & {int, float} and not any(
                getattr(rule, "strict", False) for rule in field.metadata
            ):
                lax.append(f"{name}.{field_name}")
    assert lax == []


def test_not_before_takes_an_iso_8601_time(idle_client: TestClient) -> None:
    from datetime import UTC, datetime, timedelta

    later = datetime.now(UTC) + timedelta(hours=1)
    for text in (later.isoformat(), later.strftime("%Y-%m-%dT%H:%M:%SZ")):
        response = idle_client.post("/api/v1/tasks", json={**TASK, "not_before": text})
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "delayed"
