"""A worker of an external pool whose tasks are Python functions:

    worker = Worker(pool="gpu-lab", url="http://localhost:8000", api_key=..., concurrency=8)

    @worker.task("order")
    async def handle(task: Task) -> None: ...

    worker.run()

It leases tasks of the types it has functions for, runs each function (an async one on
its loop, a sync one in a thread), heartbeats every quarter of the lease while it runs,
and reports: a return completes the task; an exception fails it (type, message, the
traceback's tail); `Release` gives it back; `Unrunnable` gives it back and stops the
worker. A cancel request (heard in a heartbeat) stops the function: asyncio cancellation
for an async one, `current_attempt().stopping()` for a sync one; the task is then released
and the service records it cancelled. A lease the service no longer grants (409: expired,
preempted) stops the function and nothing is reported. SIGTERM or SIGINT lets running
functions finish within the grace period, then stops them and releases their tasks; a
second signal does so at once."""

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeGuard, TypeVar

import httpx

from interfaces.client.asynchronous import AsyncClient
from interfaces.client.calls import Call
from interfaces.client.errors import ProblemError
from interfaces.client.leases import complete, fail, heartbeat, lease, release
from interfaces.client.methods import RunsLater
from interfaces.client.types import LeasedTask, Pool
from interfaces.worker.attempt import Attempt, StopReason
from interfaces.worker.outcomes import Release, Unrunnable, failure_reason
from interfaces.worker.running import TaskFunction, start
from interfaces.worker.tracing import Traced, TracedSends, function_span

log = logging.getLogger("taskrouterx.worker")

F = TypeVar("F", bound=TaskFunction)
HEARTBEATS_PER_LEASE = 4
"""A heartbeat every quarter of the lease, unless told otherwise: three can be lost
before the lease ends."""
RETRY_S = 1.0
"""After a failed request, before the next (the service restarting, say)."""
STOP_WAIT_S = 10.0
"""How long a function told to stop (past the grace period) has before its task is
given back regardless."""
WAITING_WARNING_S = 10.0
"""While waiting for the service or the pool, a warning this often."""
REPORT_FOR_S = 300.0
"""How long a report is tried at most while the service refuses it with 5xx (one it cannot
reach at all ends sooner: the lease runs out, and the heartbeats call it lost)."""
ANY_TYPE = None


class WorkerError(Exception):
    """The worker cannot go on: the service refused it (a wrong key, pool or request), or
    a function found it cannot run tasks (`Unrunnable`)."""


class Worker:
    """Runs the tasks of one external pool with the functions registered with `task()`.
    `pool`: its id or name (a name needs a key that can read pools). `client`: an
    AsyncClient to use instead of one made from `url` and `api_key`. `tracer_provider`:
    OpenTelemetry's, for the functions' spans (None: the process's own, if set)."""

    def __init__(
        self,
        pool: str,
        url: str = "http://localhost:8000",
        api_key: str | None = None,
        *,
        concurrency: int = 1,
        worker_id: str | None = None,
        grace_s: float = 30.0,
        heartbeat_s: float | None = None,
        wait_s: float = 5.0,
        client: AsyncClient | None = None,
        tracer_provider: Any = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.pool = pool
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}"
        self.concurrency = concurrency
        self.grace_s = grace_s
        self.heartbeat_s = heartbeat_s
        self.wait_s = wait_s
        self._url, self._api_key, self._client = url, api_key, client
        self._tracer_provider = tracer_provider
        self._functions: dict[str | None, TaskFunction] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        """The loop serve() runs on, while it runs."""
        self._stopping = asyncio.Event()
        self._abandon = asyncio.Event()
        self._asked: bool | None = None
        """A stop asked before the loop ran (True: at once)."""
        self._asking = threading.Lock()
        self.completed = 0
        self.failed = 0
        self.released = 0
        self.lost = 0
        self.broken: str | None = None
        """Why the worker stopped on its own (a function's `Unrunnable`, or the service
        refusing its leases), if it did."""

    # -- registering functions -------------------------------------------------------------

    def task(self, type: str | None = ANY_TYPE) -> Callable[[F], F]:
        """Register the decorated function for tasks of `type` (of any type not otherwise
        registered, if omitted). The function takes the task; sync or async."""

        def register(function: F) -> F:
            if type in self._functions:
                raise ValueError(f"a function is already registered for {type or 'any type'}")
            self._functions[type] = function
            return function

        return register

    def _types(self) -> list[str] | None:
        """The task types to lease: those with functions, or all if one takes any type."""
        if ANY_TYPE in self._functions:
            return None
        return sorted(name for name in self._functions if name is not None)

    def _function_for(self, task_type: str) -> TaskFunction:
        return self._functions.get(task_type) or self._functions[ANY_TYPE]

    # -- running ---------------------------------------------------------------------------

    def run(self) -> None:
        """Lease and run tasks until SIGTERM or SIGINT (or `stop()`), then finish or give
        back what runs. WorkerError if the worker cannot go on."""

        async def main() -> None:
            loop = asyncio.get_running_loop()
            for number in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(number, self._on_signal, number)
            await self.serve()

        asyncio.run(main())

    def _on_signal(self, number: int) -> None:
        graceful = not self._stopping.is_set()
        log.info("worker stopping on %s (%s)", signal.Signals(number).name,
                 "graceful" if graceful else "now")  # fmt: skip
        self.stop(now=not graceful)

    def stop(self, *, now: bool = False) -> None:
        """Lease nothing more; let running functions finish within the grace period (with
        `now`, stop them at once) and give back what still runs. Callable from any
        thread."""
        with self._asking:
            loop = self._loop
            if loop is None:  # serve() has not begun: it stops as soon as it does
                self._asked = bool(self._asked) or now
                return
        with contextlib.suppress(RuntimeError):  # the loop has closed: nothing runs
            loop.call_soon_threadsafe(self._stop_here, now)

    def _stop_here(self, now: bool) -> None:
        self._stopping.set()
        if now:
            self._abandon.set()

    async def serve(self) -> None:
        """`run()`'s work on the running loop (without the signal handlers)."""
        if not self._functions:
            raise WorkerError("no task function is registered (use @worker.task)")
        with self._asking:
            if self._loop is not None:
                raise WorkerError("this worker is serving already")
            self._loop = asyncio.get_running_loop()
            # made here: an asyncio event belongs to the loop that first waits on it
            self._stopping, self._abandon = asyncio.Event(), asyncio.Event()
            self.broken = None
            if self._asked is not None:
                self._stop_here(self._asked)
                self._asked = None
        client = self._client or AsyncClient(self._url, self._api_key)
        try:
            pool_id = await self._pool_id(client)
            if pool_id is None:
                return
            log.info("worker %s started on pool %s, %d at once, types %s", self.worker_id,
                     pool_id, self.concurrency, self._types() or "any")  # fmt: skip
            await self._lease_and_run(client, pool_id)
        finally:
            if self._client is None:
                await client.close()
            with self._asking:
                self._loop = None
        log.info("worker %s stopped: %d completed, %d failed, %d released, %d lost",
                 self.worker_id, self.completed, self.failed, self.released, self.lost)  # fmt: skip
        if self.broken is not None:
            raise WorkerError(self.broken)

    async def _pool_id(self, client: AsyncClient) -> str | None:
        """A pool's id from its id (taken as it is: the lease answers whether the pool
        is external) or its name, waiting while the service cannot be reached or has no
        such pool yet (workers may start first); None if stopped meanwhile."""
        with contextlib.suppress(ValueError):
            return str(uuid.UUID(self.pool))
        warned = -WAITING_WARNING_S
        while not self._stopping.is_set():
            try:
                found = _named(self.pool, await client.pools())
                if found is not None:
                    return found
                why = f"no worker pool is named {self.pool} yet"
            except ProblemError as error:
                if error.lasting:
                    raise WorkerError(
                        f"cannot list the pools to find {self.pool}: {error}"
                    ) from None
                why = str(error)
            except httpx.HTTPError as error:
                why = f"cannot reach the service: {error}"
            if time.monotonic() - warned >= WAITING_WARNING_S:
                log.warning("worker %s waiting: %s", self.worker_id, why)
                warned = time.monotonic()
            await self._pause(RETRY_S)
        return None

    async def _lease_and_run(self, client: AsyncClient, pool_id: str) -> None:
        running: set[asyncio.Task[None]] = set()
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            while not self._stopping.is_set():
                free = self.concurrency - len(running)
                if free <= 0:
                    await asyncio.wait({*running, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    continue
                for leased in await self._lease(client, pool_id, free):
                    attempt = Attempt(leased["task"], leased["lease"]["token"], self.worker_id)
                    if self._stopping.is_set():  # leased while stopping: back at once
                        give_back = self._report(client, attempt, release,
                                                 str(StopReason.SHUTDOWN))  # fmt: skip
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(give_back, leased["lease"]["seconds"])
                        continue
                    each = asyncio.create_task(self._attempt(client, attempt, leased))
                    running.add(each)
                    each.add_done_callback(running.discard)
            await self._finish(running)
        except BaseException:  # cancelled, or a bug: give back what runs, then go
            if running:
                self._stop_here(now=True)
                await asyncio.shield(asyncio.wait(running))
            raise
        finally:
            stopping.cancel()

    async def _lease(self, client: AsyncClient, pool_id: str, free: int) -> list[LeasedTask]:
        call = lease(pool_id, self.worker_id, free, self.wait_s, self._types())
        try:
            leased: list[LeasedTask] = await client.run(call)
            return leased
        except ProblemError as error:
            if error.lasting:  # a wrong key or pool: stop
                self.broken = f"the service refuses to lease: {error}"
                log.error("worker %s stopping: %s", self.worker_id, self.broken)
                self._stop_here(now=False)  # what runs finishes, or is given back
                return []
            log.warning("lease failed: %s", error)
        except httpx.HTTPError as error:
            log.warning("lease failed: %s", error)
        await self._pause(RETRY_S)
        return []

    async def _pause(self, seconds: float) -> None:
        """Wait `seconds`, or less if the worker is stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _finish(self, running: set["asyncio.Task[None]"]) -> None:
        """Let running attempts end within the grace period, then tell them to stop."""
        if running and not self._abandon.is_set():
            log.info("worker finishing %d running task(s), %g s at most", len(running),
                     self.grace_s)  # fmt: skip
            abandon = asyncio.ensure_future(self._abandon.wait())
            deadline = time.monotonic() + self.grace_s
            while running and not self._abandon.is_set() and time.monotonic() < deadline:
                await asyncio.wait({*running, abandon}, timeout=deadline - time.monotonic(),
                                   return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
            abandon.cancel()
        if running:
            log.info("worker giving back %d task(s)", len(running))
            self._abandon.set()
            await asyncio.wait(running)

    # -- one attempt -----------------------------------------------------------------------

    async def _attempt(self, client: AsyncClient, attempt: Attempt, leased: LeasedTask) -> None:
        traceparent = leased.get("traceparent")
        with function_span(
            traceparent, attempt.task, self.worker_id, self._tracer_provider
        ) as traced:
            await self._run_attempt(TracedSends(client, traced), attempt, leased, traced)

    async def _run_attempt(
        self, client: RunsLater, attempt: Attempt, leased: LeasedTask, traced: Traced
    ) -> None:
        task_id = attempt.task["id"]
        log.info("task %s attempt %d running", task_id, attempt.number)
        seconds = leased["lease"]["seconds"]
        try:
            outcome = start(self._function_for(attempt.task["type"]), attempt)
        except Exception as error:  # the function could not even be called
            outcome = asyncio.get_running_loop().create_future()
            outcome.set_exception(error)
        reported = asyncio.Event()
        keeper = asyncio.create_task(self._keep_lease(client, attempt, seconds, reported))
        abandon = asyncio.ensure_future(self._abandon.wait())
        try:
            await asyncio.wait({outcome, abandon}, return_when=asyncio.FIRST_COMPLETED)
            if not outcome.done():
                attempt.stop(StopReason.SHUTDOWN)
                await asyncio.wait({outcome}, timeout=STOP_WAIT_S)
            abandon.cancel()
            ran = outcome.done() and not outcome.cancelled()  # to a return or a raise
            raised = outcome.exception() if ran else None
            if raised is not None:
                traced.failed(raised)
            # the lease is kept while the report is sent (again, if the service is away)
            await self._report_outcome(client, attempt, ran and raised is None, raised)
        finally:
            reported.set()
            keeper.cancel()
            abandon.cancel()
            if not outcome.done():  # given back while it runs on: it may not go on
                outcome.cancel()

    async def _keep_lease(
        self, client: RunsLater, attempt: Attempt, seconds: float, reported: asyncio.Event
    ) -> None:
        """Heartbeat until cancelled: stop the attempt on a cancel request or a lost lease
        (a 409, or the lease's end passing while the service cannot be reached). Once the
        outcome is `reported`, a 409 is the report's doing: nothing is lost."""
        every = self.heartbeat_s or max(seconds / HEARTBEATS_PER_LEASE, 0.1)
        held_until = time.monotonic() + seconds
        while True:
            await asyncio.sleep(every if time.monotonic() + every < held_until else
                                max(held_until - time.monotonic(), 0))  # fmt: skip
            sent = time.monotonic()
            try:
                beat = await client.run(heartbeat(attempt.task["id"], attempt.token))
                cancel_requested = bool(beat["cancel_requested"])
            except Exception as error:  # any: heartbeats must not stop while it runs
                if _lease_gone(error):
                    if not reported.is_set():
                        self._lose(attempt, error.detail)
                    return
                if time.monotonic() >= held_until:
                    self._lose(attempt, f"the lease ran out while heartbeats failed: {error}")
                    return
                log.warning("task %s heartbeat failed: %s", attempt.task["id"], error)
                continue
            # the service leaves at least two thirds of a lease after each heartbeat
            held_until = max(held_until, sent + seconds * 2 / 3)
            if cancel_requested and attempt.stop_reason is None:
                log.info("task %s cancel requested: stopping it", attempt.task["id"])
                attempt.stop(StopReason.CANCELLED)

    def _lose(self, attempt: Attempt, detail: str) -> None:
        log.warning("task %s lease lost (%s): stopping it, reporting nothing",
                    attempt.task["id"], detail)  # fmt: skip
        attempt.stop(StopReason.LEASE_LOST)

    async def _report_outcome(
        self, client: RunsLater, attempt: Attempt, returned: bool, error: BaseException | None
    ) -> None:
        """Report how the function ended: it `returned`, raised `error`, or neither (it was
        cancelled, or still runs after being told to stop)."""
        task_id, why = attempt.task["id"], attempt.stop_reason
        if why is StopReason.LEASE_LOST:
            self.lost += 1
            return
        if returned:
            if await self._report(client, attempt, complete):
                self.completed += 1
                log.info("task %s completed", task_id)
            return
        if isinstance(error, Unrunnable):
            self.broken = f"{error}" or "a task function cannot run"
            log.error("worker cannot run tasks: %s", self.broken)
            self.stop()
            reason = self.broken
        elif isinstance(error, Release):
            reason = str(error) or "released by its function"
        elif why is not None:
            reason = str(why)  # stopped: cancelled, or shutting down
        elif error is None:
            reason = "its function was cancelled"
        else:
            if await self._report(client, attempt, fail, failure_reason(error)):
                self.failed += 1
                log.info("task %s failed: %s", task_id, f"{type(error).__name__}: {error}")
            return
        if await self._report(client, attempt, release, reason):
            self.released += 1
            log.info("task %s released: %s", task_id, reason)

    async def _report(
        self,
        client: RunsLater,
        attempt: Attempt,
        call: Callable[..., Call[None]],
        *reason: str,
    ) -> bool:
        """Report until the service answers, while the lease is kept (the attempt's
        heartbeats go on meanwhile): False if it refused (the lease is gone), or the lease
        was lost before it could be reached."""
        task_id = attempt.task["id"]
        give_up = time.monotonic() + REPORT_FOR_S
        unanswered = False
        while True:
            try:
                await client.run(call(task_id, attempt.token, *reason))
                return True
            except ProblemError as error:
                if error.lasting:
                    if unanswered and _lease_gone(error):
                        log.warning("task %s report refused (%s): a send whose answer was "
                                    "lost may have made it", task_id, error)  # fmt: skip
                        return False
                    log.warning("task %s report refused: %s", task_id, error)
                    self.lost += _lease_gone(error)
                    return False
                failure: Exception = error
            except httpx.HTTPError as error:
                failure, unanswered = error, True
            if attempt.stop_reason is StopReason.LEASE_LOST or time.monotonic() >= give_up:
                log.warning("task %s report abandoned: %s", task_id, failure)
                return False
            log.warning("task %s report failed, again in %g s: %s", task_id, RETRY_S, failure)
            await asyncio.sleep(RETRY_S)


def _named(name: str, pools: list[Pool]) -> str | None:
    """The id of the pool called `name` (WorkerError if it runs in the simulator)."""
    for pool in pools:
        if name in (pool["id"], pool["name"]):
            if pool["execution"] != "external":
                raise WorkerError(
                    f"worker pool {pool['name']} runs in the simulator; make it external "
                    f'first (PATCH /api/v1/workers/{pool["id"]} {{"execution": "external"}})'
                )
            return pool["id"]
    return None


def _lease_gone(error: Exception) -> TypeGuard[ProblemError]:
    """Whether the service says the attempt's lease is no longer held (409: expired,
    preempted, the task moved on; 404: the task is gone)."""
    return isinstance(error, ProblemError) and error.status in (404, 409)
