"""The real server as a subprocess (`python -m interfaces serve`) on a real SQLite file."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(
        self,
        database: Path | str,
        output: Path,
        port: int | None = None,
        command: list[str] | None = None,
        **env: str,
    ) -> None:
        """`database`: a SQLite file, or a database URL; `command`: what serves (the CLI's
        `serve` by default), to which `--port` is added."""
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = {
            **os.environ,
            "TASKROUTERX_DATABASE_URL": database
            if isinstance(database, str)
            else f"sqlite:///{database}",
            "TASKROUTERX_SIM_MIN_LATENCY_S": "0.005",
            "TASKROUTERX_SIM_MAX_LATENCY_S": "0.05",
            "TASKROUTERX_SIM_SEED": "7",
            "TASKROUTERX_LOG_FORMAT": "json",
            **env,
        }
        self._output = output.open("ab")
        command = [*(command or self.default_command()), "--port", str(self.port)]
        self.process = subprocess.Popen(
            command, env=environment, stdout=self._output, stderr=subprocess.STDOUT
        )
        self.client = httpx.Client(
            base_url=self.url, timeout=10, headers={"Content-Type": "application/json"}
        )
        self._wait_healthy(output)

    @staticmethod
    def default_command() -> list[str]:
        return [sys.executable, "-m", "interfaces", "serve"]

    def _wait_healthy(self, output: Path) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.client.get("/api/v1/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"server did not start:\n{output.read_text()[-3000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a power cut of the process."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=20)
        self._close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self._close()

    def _close(self) -> None:
        self.client.close()
        self._output.close()


@contextmanager
def server(database: Path, **env: str) -> Iterator[httpx.Client]:
    running = Server(database, database.with_suffix(".log"), **env)
    try:
        yield running.client
    finally:
        running.stop()


def children(pid: int, module: str = "") -> list[int]:
    """The processes whose parent is `pid` (a server's writer and verifier processes),
    those running `module` if given."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and module in command:
                found.append(int(entry.name))
    return found


def wait_until(check: Callable[[], T], timeout: float = 60.0) -> T:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)
    return result


def all_tasks(client: httpx.Client) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = []
    page = 1
    while batch := client.get("/api/v1/tasks", params={"page": page, "page_size": 100}).json()[
        "tasks"
    ]:
        tasks += batch
        page += 1
    return tasks
