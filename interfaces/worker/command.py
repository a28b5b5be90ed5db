"""`taskrouterx worker -- CMD`: a task function that runs a command per task, with the
task's JSON on its stdin. Exit status 0 completes the task; any other fails it with the
tail of the command's stderr. When the attempt is to stop (a cancel request, a lost lease,
the worker's shutdown) the command's process group gets SIGTERM, then SIGKILL if it
lingers. A command that cannot start at all makes the worker give the task back and stop."""

import contextlib
import os
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Sequence

import orjson

from interfaces.client.types import Task
from interfaces.worker.attempt import current_attempt
from interfaces.worker.outcomes import Failure, Stopped, Unrunnable

STDERR_TAIL_BYTES = 4000
STOP_GRACE_S = 5.0
"""Between asking a command to stop (SIGTERM to its process group) and killing it."""
TICK_S = 0.2


def command_function(command: Sequence[str]) -> Callable[[Task], None]:
    """A sync task function running `command` for each task."""

    def run_command(task: Task) -> None:
        attempt = current_attempt()
        try:
            process = subprocess.Popen(
                list(command), stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                start_new_session=True,
            )  # fmt: skip
        except OSError as error:  # not the task's fault: the worker can run nothing
            raise Unrunnable(f"the command cannot start: {error}") from error
        tail = _StderrTail(process)
        _feed(process, orjson.dumps(task))
        while process.poll() is None:
            if attempt.stopping():
                _stop(process)
                raise Stopped(str(attempt.stop_reason))
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(TICK_S)
        status = process.returncode
        tail.join()
        if status != 0:
            why = f"exit status {status}" if status > 0 else f"killed by signal {-status}"
            raise Failure(f"{why}: {tail.text()}" if tail.text() else why)

    return run_command


def _feed(process: "subprocess.Popen[bytes]", data: bytes) -> None:
    """Write the task to the command's stdin from a thread of its own: a command that does
    not read it (past the pipe's buffer) must not keep the attempt from stopping."""

    def write() -> None:
        assert process.stdin is not None
        with contextlib.suppress(BrokenPipeError, OSError):
            process.stdin.write(data)
        with contextlib.suppress(BrokenPipeError, OSError):
            process.stdin.close()

    threading.Thread(target=write, daemon=True).start()


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
