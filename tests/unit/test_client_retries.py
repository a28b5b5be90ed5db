"""The client sends a request again after a 429 or 503, waiting what `Retry-After` says,
within a budget of attempts and waiting; every retry of a submission carries the same
`Idempotency-Key`. The network is faked (httpx's MockTransport), nothing else is."""

import httpx
import pytest

from interfaces.client import Client, ProblemError
from interfaces.client.retries import RetryPolicy

BUSY = {"type": "about:blank", "title": "Service Unavailable", "status": 503, "detail": "busy"}
TASK = {"id": "t1", "status": "queued"}


def client(answers: list[httpx.Response], retry: RetryPolicy = RetryPolicy()) -> tuple[
    Client, list[httpx.Request], list[float]
]:  # fmt: skip
    sent: list[httpx.Request] = []
    waits: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return answers.pop(0)

    http = httpx.Client(transport=httpx.MockTransport(answer), base_url="http://router")
    return Client(http=http, retry=retry, sleep=waits.append), sent, waits


def test_a_503_is_sent_again_after_its_retry_after_with_the_same_idempotency_key() -> None:
    router, sent, waits = client([
        httpx.Response(503, json=BUSY, headers={"Retry-After": "2"}),
        httpx.Response(429, json={**BUSY, "status": 429}),
        httpx.Response(201, json=TASK),
    ])  # fmt: skip
    assert router.submit("order", 5, 1.0, "us-east")["id"] == "t1"
    assert waits == [2.0, 1.0]  # the answer's Retry-After, then the backoff's second step
    keys = {request.headers["Idempotency-Key"] for request in sent}
    assert len(sent) == 3
    assert len(keys) == 1


def test_past_its_budget_the_last_refusal_is_raised() -> None:
    busy = [httpx.Response(503, json=BUSY, headers={"Retry-After": "10"}) for _ in range(5)]
    router, sent, waits = client(busy, RetryPolicy(attempts=4, max_wait_s=25))
    with pytest.raises(ProblemError) as refused:
        router.get("t1")
    assert (refused.value.status, refused.value.detail) == (503, "busy")
    assert waits == [10.0, 10.0]  # a third wait would pass 25 s
    assert len(sent) == 3


def test_other_refusals_are_not_sent_again() -> None:
    router, sent, waits = client([httpx.Response(404, json={**BUSY, "status": 404})])
    with pytest.raises(ProblemError):
        router.get("t1")
    assert (len(sent), waits) == (1, [])


def test_an_answer_that_is_not_problem_details_still_raises_with_its_status() -> None:
    router, _, _ = client([httpx.Response(502, text="bad gateway from a proxy")])
    with pytest.raises(ProblemError) as refused:
        router.get("t1")
    assert (refused.value.status, refused.value.detail) == (502, "bad gateway from a proxy")


def test_the_event_stream_is_read_frame_by_frame_with_its_pings() -> None:
    from interfaces.client.events import StreamedEvent, streamed

    body = (
        "retry: 1000\n\n"
        'id: 7\nevent: TaskQueued\ndata: {"position": 7, "type": "TaskQueued"}\n\n'
        ": ping\n\n"
        'id: 9\nevent: TaskCompleted\ndata: {"position": 9}\n\n'
        "id: 10\nevent: TaskReady\n"  # cut off before its data: not an event
    )
    read = list(streamed(body.split("\n")))
    assert read == [
        StreamedEvent(7, "TaskQueued", {"position": 7, "type": "TaskQueued"}),
        None,
        StreamedEvent(9, "TaskCompleted", {"position": 9}),
    ]


def test_the_async_client_retries_as_the_sync_one() -> None:
    import asyncio

    from interfaces.client import AsyncClient

    answers = [
        httpx.Response(503, json=BUSY, headers={"Retry-After": "3"}),
        httpx.Response(201, json=TASK),
    ]
    sent: list[httpx.Request] = []
    waits: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return answers.pop(0)

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def submit() -> str:
        http = httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url="http://router")
        async with AsyncClient(http=http, sleep=sleep) as router:
            task = await router.submit("order", 5, 1.0, "us-east")
        await http.aclose()
        return task["id"]

    assert asyncio.run(submit()) == "t1"
    assert waits == [3.0]
    assert len({request.headers["Idempotency-Key"] for request in sent}) == 1


def test_a_lost_answer_is_asked_again_only_where_sending_twice_is_safe() -> None:
    sent: list[httpx.Request] = []
    waits: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if len(sent) % 2:
            raise httpx.ReadError("connection reset", request=request)
        return httpx.Response(201, json=TASK)

    http = httpx.Client(transport=httpx.MockTransport(answer), base_url="http://router")
    router = Client(http=http, sleep=waits.append)
    assert router.submit("order", 5, 1.0, "us-east")["id"] == "t1"
    assert [request.headers["Idempotency-Key"] for request in sent[:1]] == [
        sent[1].headers["Idempotency-Key"]
    ], "the same key: the server makes the task once"
    assert router.get("t1")["id"] == "t1"
    assert waits == [0.5, 0.5]
    with pytest.raises(httpx.ReadError):
        router.cancel("t1")  # a command without a key is not sent twice
    assert len(sent) == 5
