"""The worker library (interfaces.worker) against a fake of the service's lease protocol
(the client's `run` port): what each way a function ends reports, a cancel reaching an
async and a sync function, a lost lease reporting nothing, shutdown past the grace period
giving tasks back, a stop asked before the worker runs, and a refused lease or an
`Unrunnable` stopping the worker."""

import asyncio
import functools
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from interfaces.client import ProblemError
from interfaces.client.calls import Call
from interfaces.worker import (
    Failure,
    Release,
    StopReason,
    Unrunnable,
    Worker,
    WorkerError,
    current_attempt,
)

POOL = "00000000-0000-4000-8000-000000000001"


def task(task_id: str, type: str = "order") -> dict[str, Any]:
    return {"id": task_id, "type": type, "attempt": 1, "task_metadata": {}}


class FakeService:
    """Hands out its tasks to lease, answers heartbeats (a cancel or a lost lease when
    told), and records every report."""

    def __init__(self, *tasks: dict[str, Any]) -> None:
        self.waiting = list(tasks)
        self.reports: list[tuple[str, str, str | None]] = []
        self.leases: list[dict[str, Any]] = []
        self.cancelled: set[str] = set()
        self.lost: set[str] = set()
        self.refusal: ProblemError | None = None
        self.started: set[str] = set()

    async def run(self, call: Call[Any]) -> Any:
        parts = call.path.strip("/").split("/")
        if parts[-1] == "lease":
            return await self._lease(call.json)
        task_id, action = parts[1], parts[2]
        if task_id in self.lost:
            raise ProblemError(409, "Conflict", f"attempt of {task_id} was preempted")
        if action == "heartbeat":
            return {"task_id": task_id, "lease_expires_at": "later",
                    "cancel_requested": task_id in self.cancelled}  # fmt: skip
        self.reports.append((action, task_id, (call.json or {}).get("reason")))
        return None

    async def _lease(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        self.leases.append(body)
        if self.refusal is not None:
            raise self.refusal
        given, self.waiting = self.waiting[: body["max_tasks"]], self.waiting[body["max_tasks"] :]
        if not given:
            await asyncio.sleep(0.01)
        lease = {"token": "t", "expires_at": "later", "seconds": 30.0}
        return [{"task": each, "lease": lease, "traceparent": None} for each in given]

    async def close(self) -> None:
        return None


def serve_until(worker: Worker, done: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Run the worker until `done()`, then stop it and let it finish."""

    async def main() -> None:
        serving = asyncio.create_task(worker.serve())
        deadline = time.monotonic() + timeout_s
        while not done() and not serving.done():
            assert time.monotonic() < deadline, "the condition was not reached"
            await asyncio.sleep(0.005)
        worker.stop()
        await serving

    asyncio.run(main())


def worker_on(service: FakeService, **options: Any) -> Worker:
    settings = {"heartbeat_s": 0.01, "wait_s": 0.0, "concurrency": 4, **options}
    return Worker(POOL, client=service, worker_id="w-1", **settings)  # type: ignore[arg-type]


def test_each_way_a_function_ends_is_reported_as_such() -> None:
    service = FakeService(task("t-done"), task("t-boom", "query"), task("t-bad", "simulation"),
                          task("t-back", "simulation"))  # fmt: skip
    worker = worker_on(service)

    @worker.task("order")
    async def done(_: Any) -> None:
        return None

    @worker.task("query")
    def boom(_: Any) -> None:
        raise ValueError("boom")

    @worker.task("simulation")
    def other(each: Any) -> None:
        if each["id"] == "t-back":
            raise Release("not now")
        raise Failure("bad input")

    serve_until(worker, lambda: len(service.reports) == 4)
    reports = {task_id: (action, reason) for action, task_id, reason in service.reports}
    assert reports["t-done"] == ("complete", None)
    assert reports["t-bad"] == ("fail", "bad input")
    assert reports["t-back"] == ("release", "not now")
    action, reason = reports["t-boom"]
    assert action == "fail"
    assert reason is not None
    assert reason.startswith("ValueError: boom\n\nTraceback (most recent call last)")
    assert 'raise ValueError("boom")' in reason
    assert (worker.completed, worker.failed, worker.released) == (1, 2, 1)
    assert service.leases[0]["types"] == ["order", "query", "simulation"]


def test_a_cancel_cancels_an_async_function_and_flags_a_sync_one() -> None:
    service = FakeService(task("t-async"), task("t-sync", "query"))
    worker = worker_on(service)
    ended: dict[str, str] = {}

    @worker.task("order")
    async def waits(_: Any) -> None:
        service.started.add("t-async")
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            ended["t-async"] = "cancelled"
            raise

    @worker.task("query")
    def polls(_: Any) -> None:
        service.started.add("t-sync")
        attempt = current_attempt()
        if attempt.wait(30):
            ended["t-sync"] = str(attempt.stop_reason)
            attempt.check()

    def cancel_once_started() -> bool:
        service.cancelled |= service.started
        return len(service.reports) == 2

    serve_until(worker, cancel_once_started)
    assert sorted(service.reports) == [
        ("release", "t-async", "stopped on a cancel request"),
        ("release", "t-sync", "stopped on a cancel request"),
    ]
    assert ended == {"t-async": "cancelled", "t-sync": "stopped on a cancel request"}


def test_a_lost_lease_stops_the_function_and_reports_nothing() -> None:
    service = FakeService(task("t-1", "query"))
    worker = worker_on(service)
    stopped = threading.Event()

    @worker.task()
    def long(_: Any) -> None:
        service.lost.add("t-1")  # preempted, say: the next heartbeat hears 409
        if current_attempt().wait(30):
            stopped.set()
            current_attempt().check()

    serve_until(worker, lambda: worker.lost == 1)
    assert stopped.is_set()
    assert service.reports == []
    assert "types" not in service.leases[0], "a catch-all function leases every type"


def test_past_the_grace_period_running_tasks_are_given_back() -> None:
    service = FakeService(task("t-1"))
    worker = worker_on(service, grace_s=0.05)
    started = threading.Event()

    @worker.task("order")
    def slow(_: Any) -> None:
        started.set()
        if current_attempt().wait(30):
            current_attempt().check()

    serve_until(worker, started.is_set)
    assert service.reports == [("release", "t-1", "worker shutting down")]


def test_a_stop_asked_before_the_worker_runs_holds() -> None:
    service = FakeService(task("t-1"))
    worker = worker_on(service)
    worker.task()(lambda _: None)
    worker.stop()
    asyncio.run(worker.serve())
    assert service.leases == []


def test_a_refused_lease_stops_the_worker_with_the_reason() -> None:
    service = FakeService()
    service.refusal = ProblemError(403, "Forbidden", "the key lacks tasks:work")
    worker = worker_on(service)
    worker.task()(lambda _: None)
    with pytest.raises(WorkerError, match="the key lacks tasks:work"):
        asyncio.run(worker.serve())


def test_an_unrunnable_function_gives_its_task_back_and_stops_the_worker() -> None:
    service = FakeService(task("t-1"), task("t-2"))
    worker = worker_on(service, concurrency=1)

    @worker.task()
    def cannot(_: Any) -> None:
        raise Unrunnable("no GPU here")

    with pytest.raises(WorkerError, match="no GPU here"):
        asyncio.run(worker.serve())
    assert service.reports == [("release", "t-1", "no GPU here")]


def test_what_asyncio_will_not_carry_still_ends_the_task_as_a_failure() -> None:
    service = FakeService(task("t-stop", "query"), task("t-exit"), task("t-coro", "simulation"),
                          task("t-ok", "simulation"))  # fmt: skip
    worker = worker_on(service)

    @worker.task("query")
    def empty(_: Any) -> None:
        next(iter([]))  # StopIteration: an asyncio future refuses it

    @worker.task("order")
    async def leaves(_: Any) -> None:
        raise SystemExit(3)  # would stop the loop, and every other task with it

    @worker.task("simulation")
    def sneaky(each: Any) -> Any:
        return asyncio.sleep(0) if each["id"] == "t-coro" else None

    serve_until(worker, lambda: len(service.reports) == 4)
    reports = {task_id: (action, reason or "") for action, task_id, reason in service.reports}
    assert reports["t-stop"][1].startswith("RuntimeError: the task function raised StopIteration")
    assert reports["t-exit"][1].startswith("RuntimeError: the task function raised SystemExit: 3")
    assert reports["t-coro"][1].startswith("TypeError: the task function returned an awaitable")
    assert reports["t-ok"] == ("complete", "")


def test_a_decorated_async_function_runs_on_the_loop_and_is_awaited() -> None:
    service = FakeService(task("t-1"))
    worker = worker_on(service)
    ran: list[str] = []

    def logged(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any) -> Any:
            return function(*args)

        return wrapper

    @worker.task("order")
    @logged
    async def handle(each: Any) -> None:
        await asyncio.sleep(0)
        ran.append(each["id"])

    serve_until(worker, lambda: len(service.reports) == 1)
    assert ran == ["t-1"]
    assert service.reports == [("complete", "t-1", None)]


def test_a_lease_lost_after_a_cancel_request_reports_nothing() -> None:
    service = FakeService(task("t-1", "query"))
    worker = worker_on(service)
    reasons: list[StopReason | None] = []

    @worker.task()
    def slow(_: Any) -> None:
        attempt = current_attempt()
        service.cancelled.add("t-1")
        attempt.wait(30)  # woken by the cancel request
        reasons.append(attempt.stop_reason)
        service.lost.add("t-1")  # then the lease goes (expired, preempted)
        deadline = time.monotonic() + 5
        while attempt.stop_reason is not StopReason.LEASE_LOST and time.monotonic() < deadline:
            time.sleep(0.005)
        reasons.append(attempt.stop_reason)
        attempt.check()

    serve_until(worker, lambda: worker.lost == 1)
    assert reasons == [StopReason.CANCELLED, StopReason.LEASE_LOST]
    assert service.reports == [], "a release would be for a lease no longer held"


def test_a_worker_serves_again_after_it_stopped() -> None:
    service = FakeService(task("t-1"))
    worker = worker_on(service)
    worker.task()(lambda _: None)
    serve_until(worker, lambda: worker.completed == 1)
    service.waiting.append(task("t-2"))
    serve_until(worker, lambda: worker.completed == 2)
    assert [task_id for _, task_id, _ in service.reports] == ["t-1", "t-2"]
