"""A worker process: lease tasks of one external pool, run a command per task with the
task's JSON on its stdin, keep each lease with heartbeats while the command runs, and
report: exit status 0 completes the task, anything else fails it with the tail of the
command's stderr.

A heartbeat that answers "cancel requested" stops the command and releases the task (the
service then records it cancelled); one that answers 409 means the lease is gone (it
expired, and the task's next attempt belongs to someone else): the command is stopped and
nothing is reported. On SIGTERM or SIGINT the worker leases nothing more and lets its
commands finish within a grace period; after it (or on a second signal) it stops them and
releases their leases, so the tasks go back to the queue at once."""

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType

import orjson
import structlog

from interfaces.worker.client import Leased, LeaseLost, ServiceError, WorkerClient

log = structlog.get_logger("taskrouterx.worker")

STDERR_TAIL_BYTES = 4000
RETRY_AFTER_S = 1.0
HEARTBEATS_PER_LEASE = 4
"""A heartbeat every quarter of the lease, unless told otherwise: three can be lost before
the lease ends."""
STOP_GRACE_S = 5.0
"""Between asking a command to stop (SIGTERM to its process group) and killing it."""
TICK_S = 0.2


@dataclass(frozen=True)
class WorkerOptions:
    pool: str
    command: Sequence[str]
    worker_id: str
    concurrency: int = 1
    wait_s: float = 5.0
    """How long one lease request waits for work (the service's long poll)."""
    grace_s: float = 30.0
    heartbeat_s: float | None = None
    """Between heartbeats; by default HEARTBEATS_PER_LEASE to a lease."""


class Worker:
    def __init__(self, client: WorkerClient, options: WorkerOptions) -> None:
        self._client = client
        self._options = options
        self._stopping = threading.Event()
        self._abandon = threading.Event()
        self._running: dict[str, threading.Thread] = {}
        self._changed = threading.Condition()
        self.completed = 0
        self.failed = 0
        self.broken: str | None = None
        """Why the worker stopped on its own (its command cannot run), if it did."""

    def run(self) -> None:
        """Lease and run until stopped; then finish or release what runs."""
        pool_id = self._client.pool_id(self._options.pool)
        log.info("worker.started", pool_id=pool_id, worker_id=self._options.worker_id,
                 concurrency=self._options.concurrency)  # fmt: skip
        while not self._stopping.is_set():
            free = self._free_slots()
            if not free:
                continue
            try:
                leased = self._client.lease(
                    pool_id, self._options.worker_id, free, self._options.wait_s
                )
            except (ServiceError, LeaseLost) as error:
                log.warning("worker.lease_failed", error=str(error))
                self._stopping.wait(RETRY_AFTER_S)
                continue
            for item in leased:
                self._start(item)
        self._shut_down()

    def stop(self, *, now: bool = False) -> None:
        """Lease nothing more; with `now`, also stop running commands and release them."""
        if now:
            self._abandon.set()
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()

    def handle_signals(self) -> None:
        """SIGTERM or SIGINT stops gracefully; a second one stops at once."""

        def on_signal(number: int, frame: FrameType | None) -> None:
            first = not self._stopping.is_set()
            log.info("worker.stopping", signal=signal.Signals(number).name, graceful=first)
            self.stop(now=not first)

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def _free_slots(self) -> int:
        with self._changed:
            while len(self._running) >= self._options.concurrency:
                if self._stopping.is_set():
                    return 0
                self._changed.wait(TICK_S)
            return self._options.concurrency - len(self._running)

    def _start(self, leased: Leased) -> None:
        thread = threading.Thread(
            target=self._attempt, args=(leased,), name=f"task-{leased.task_id}", daemon=True
        )
        with self._changed:
            self._running[leased.task_id] = thread
        thread.start()

    def _shut_down(self) -> None:
        deadline = time.monotonic() + self._options.grace_s
        with self._changed:
            while self._running and not self._abandon.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    log.info("worker.grace_over", releasing=len(self._running))
                    self._abandon.set()
                    break
                self._changed.wait(min(remaining, TICK_S))
            threads = list(self._running.values())
        for thread in threads:
            thread.join()
        log.info("worker.stopped", completed=self.completed, failed=self.failed)

    def _attempt(self, leased: Leased) -> None:
        try:
            self._run_command(leased)
        except Exception:
            log.exception("worker.attempt_crashed", task_id=leased.task_id)
        finally:
            with self._changed:
                self._running.pop(leased.task_id, None)
                self._changed.notify_all()

    def _run_command(self, leased: Leased) -> None:
        task_id, token = leased.task_id, leased.token
        log.info("worker.running", task_id=task_id, attempt=leased.task.get("attempt"))
        try:
            process = subprocess.Popen(
                list(self._options.command),
                stdin=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as error:
            # Not the task's fault: give it back, and stop a worker that can run nothing.
            reason = f"the command cannot start: {error}"
            self.broken = reason
            log.error("worker.command_unusable", error=str(error))
            self._report(task_id, lambda: self._client.release(task_id, token, reason))
            self.stop()
            return
        tail = _StderrTail(process)
        assert process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            process.stdin.write(orjson.dumps(leased.task))
            process.stdin.close()
        interval = self._options.heartbeat_s or max(leased.seconds / HEARTBEATS_PER_LEASE, TICK_S)
        next_beat = time.monotonic() + interval
        while process.poll() is None:
            if self._abandon.is_set():
                _stop(process)
                self._report(task_id, lambda: self._client.release(
                    task_id, token, "worker shutting down"))  # fmt: skip
                return
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + interval
                try:
                    beat = self._client.heartbeat(task_id, token)
                except LeaseLost as lost:
                    log.warning("worker.lease_lost", task_id=task_id, detail=str(lost))
                    _stop(process)
                    return
                except ServiceError as error:
                    log.warning("worker.heartbeat_failed", task_id=task_id, error=str(error))
                    next_beat = time.monotonic() + min(interval, RETRY_AFTER_S)
                    continue
                if beat.cancel_requested:
                    log.info("worker.cancelled", task_id=task_id)
                    _stop(process)
                    self._report(task_id, lambda: self._client.release(
                        task_id, token, "stopped on a cancel request"))  # fmt: skip
                    return
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(TICK_S)
        status = process.returncode
        tail.join()
        if status == 0:
            if self._report(task_id, lambda: self._client.complete(task_id, token)):
                self.completed += 1
            return
        why = f"exit status {status}" if status > 0 else f"killed by signal {-status}"
        reason = f"{why}: {tail.text()}" if tail.text() else why
        if self._report(task_id, lambda: self._client.fail(task_id, token, reason[:8000])):
            self.failed += 1

    def _report(self, task_id: str, call: Callable[[], None]) -> bool:
        """Report until the service answers; False if it refused (the lease is gone)."""
        while True:
            try:
                call()
                return True
            except LeaseLost as lost:
                log.warning("worker.report_refused", task_id=task_id, detail=str(lost))
                return False
            except ServiceError as error:
                log.warning("worker.report_failed", task_id=task_id, error=str(error))
                if self._abandon.wait(RETRY_AFTER_S):
                    return False


class _StderrTail:
    """Reads a process's stderr to the end (or as long as anything holds it open),
    keeping its last bytes."""

    def __init__(self, process: "subprocess.Popen[bytes]") -> None:
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: "subprocess.Popen[bytes]") -> None:
        assert process.stderr is not None
        descriptor = process.stderr.fileno()
        for chunk in iter(lambda: os.read(descriptor, 4096), b""):
            with self._lock:
                self._chunks.append(chunk)
                self._size += len(chunk)
                while self._size - len(self._chunks[0]) >= STDERR_TAIL_BYTES:
                    self._size -= len(self._chunks.popleft())

    def join(self) -> None:
        self._thread.join(timeout=STOP_GRACE_S)

    def text(self) -> str:
        with self._lock:
            data = b"".join(self._chunks)[-STDERR_TAIL_BYTES:]
        return data.decode(errors="replace").strip()


def _stop(process: "subprocess.Popen[bytes]") -> None:
    """SIGTERM to the command's process group, SIGKILL if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
