"""The two servers the HTTP benchmarks load, run under identical uvicorn settings:
`app` is TaskRouterX itself, `ping` a bare FastAPI app (the framework's ceiling)."""

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

UVICORN = {
    "loop": "uvloop",
    "http": "httptools",
    "log_level": "warning",
    "access_log": False,
    "proxy_headers": False,
}


def ping_app() -> FastAPI:
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"status": "ok"}

    return app


PIDS: dict[str, int] = {}
"""The process serving each running server's URL (for benchmarks that read its memory)."""


def rss_mb(url: str) -> float:
    status = Path(f"/proc/{PIDS[url]}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS"))
    return int(line.split()[1]) / 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(kind: str, database: Path | None = None, **env: str) -> Iterator[str]:
    """Start a server in a child process; yield its base URL once it answers."""
    port = free_port()
    environment = {
        **os.environ,
        "TASKROUTERX_LOG_FORMAT": "json",
        "TASKROUTERX_LOG_LEVEL": "WARNING",
        **env,
    }
    if database is not None:
        environment["TASKROUTERX_DATABASE_URL"] = f"sqlite:///{database}"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.benchmarks.servers", kind, str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    probe = "/ping" if kind == "ping" else "/api/v1/health"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + probe, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"{kind} server did not start: {process.stderr.read().decode() if process.stderr else ''}"
                )
            time.sleep(0.1)
        PIDS[url] = process.pid
        yield url
    finally:
        PIDS.pop(url, None)
        process.terminate()
        process.wait(timeout=30)


def ensure_wrk() -> str:
    """wrk from Debian's packages, installed when missing."""
    return ensure_installed("wrk", "wrk")


def ensure_installed(program: str, package: str) -> str:
    """The path of `program`, from Debian's `package`, installed when missing."""
    found = shutil.which(program)
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "-q", package], check=False, capture_output=True)
    found = shutil.which(program)
    if not found:
        raise RuntimeError(f"{program} is not installed and apt-get could not install {package}")
    return found


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "ping":
        app = ping_app()
    else:
        from interfaces.http.asgi import create

        if kind == "app-whole":  # the baseline: the scheduler records whole decisions
            from tests.benchmarks.storage import whole_decisions

            whole_decisions().__enter__()
        app = create()
    uvicorn.run(app, host="127.0.0.1", port=port, **UVICORN)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
