"""Connection and header limits of `taskrouterx serve`, driven with raw sockets as an
attacker would: oversized and overlong headers get 431, slow or silent connections 408 and
a close, connections past the cap a 503 (and the server keeps answering everyone else),
and a low file-descriptor limit lowers the cap instead of running out."""

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.support import Server

HEADER_TIMEOUT_S = 1.0


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Server]:
    running = Server(
        tmp_path / "taskrouterx.db",
        tmp_path / "server.log",
        TASKROUTERX_MAX_CONNECTIONS="40",
        TASKROUTERX_HEADER_TIMEOUT_S=str(HEADER_TIMEOUT_S),
        TASKROUTERX_SIMULATOR="off",
    )
    yield running
    running.stop()


def connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read until the server closes; the status, headers and body of its answer."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines[0] else 0
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    return status, headers, body


def send_all(sock: socket.socket, data: bytes, chunk: int = 16384) -> int:
    """Send as much as the server takes before it closes; bytes sent."""
    sent = 0
    try:
        while sent < len(data):
            sent += sock.send(data[sent : sent + chunk])
    except (BrokenPipeError, ConnectionResetError):
        pass
    return sent


def assert_problem(response: tuple[int, dict[str, str], bytes], status: int) -> dict:  # type: ignore[type-arg]
    code, headers, body = response
    assert code == status, (code, body[:200])
    assert headers["content-type"] == "application/problem+json"
    assert headers["connection"] == "close"
    problem = json.loads(body)
    assert problem["status"] == status
    return problem  # type: ignore[no-any-return]


def peak_rss_kb(server: Server) -> int:
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])


def test_oversized_headers_get_431_without_being_buffered(limited: Server) -> None:
    """The field report: 50 MB of header lines were buffered (and answered). Now the
    server answers 431 after 64 KiB and drops the rest: its peak memory barely moves."""
    peak_before = peak_rss_kb(limited)
    with connect(limited) as sock:
        request = b"GET /api/v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Fill: " + b"a" * 50_000_000
        send_all(sock, request)
        problem = assert_problem(read_response(sock), 431)
    assert "65536 bytes" in problem["detail"]
    assert peak_rss_kb(limited) - peak_before < 10_000
    assert limited.client.get("/api/v1/health").status_code == 200


def test_too_many_header_lines_get_431(limited: Server) -> None:
    with connect(limited) as sock:
        lines = b"".join(b"X-H%d: 1\r\n" % n for n in range(150))
        sock.sendall(b"GET /api/v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n" + lines + b"\r\n")
        problem = assert_problem(read_response(sock), 431)
    assert "100 header lines" in problem["detail"]


def test_headers_within_the_limits_are_served(limited: Server) -> None:
    headers = {f"x-h{n}": "v" * 500 for n in range(90)}
    assert limited.client.get("/api/v1/tasks", headers=headers).status_code == 200


def test_a_slowloris_connection_is_answered_408_and_closed(limited: Server) -> None:
    """One header byte every 0.2 s, never finishing: the deadline runs from the request's
    first byte, not from the last one."""
    received = b""
    with connect(limited) as sock:
        sock.sendall(b"GET /api/v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sock.settimeout(0.2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                sock.send(b"X")
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            if not chunk:
                break
            received += chunk
    assert received, "the server answered before closing"
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert json.loads(body)["status"] == 408


def test_a_silent_connection_is_closed_after_the_header_timeout(limited: Server) -> None:
    with connect(limited) as sock:
        assert_problem(read_response(sock), 408)


def test_connections_past_the_cap_get_503_and_the_server_keeps_serving(
    limited: Server,
) -> None:
    holders = [connect(limited) for _ in range(40)]
    try:
        time.sleep(0.2)  # the server has accepted them all
        with connect(limited) as extra:
            extra.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            problem = assert_problem(read_response(extra), 503)
        assert "40 open connections" in problem["detail"]
    finally:
        for sock in holders:
            sock.close()
    time.sleep(0.2)
    assert limited.client.get("/api/v1/health").status_code == 200


def test_three_hundred_slow_connections_are_all_closed_and_others_are_served(
    tmp_path: Path,
) -> None:
    running = Server(
        tmp_path / "taskrouterx.db",
        tmp_path / "server.log",
        TASKROUTERX_HEADER_TIMEOUT_S=str(HEADER_TIMEOUT_S),
        TASKROUTERX_SIMULATOR="off",
    )
    try:
        slow = []
        for _ in range(300):
            sock = connect(running)
            sock.sendall(b"POST /api/v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: ")
            slow.append(sock)
        time.sleep(HEADER_TIMEOUT_S + 1.0)
        with httpx.Client(base_url=running.url, timeout=10) as client:
            assert client.get("/api/v1/health").status_code == 200
        open_ones = 0
        for sock in slow:
            sock.settimeout(2)
            status, _, _ = read_response(sock)
            open_ones += status != 408
            sock.close()
        assert open_ones == 0
    finally:
        running.stop()


def test_a_low_file_limit_lowers_the_connection_cap(tmp_path: Path) -> None:
    """With `ulimit -n 600`, 1,000 connections cannot fit: serve says so and caps them at
    what fits (600 - 256 lingering - 256 kept for the database and the rest = 88)."""
    running = Server(
        tmp_path / "taskrouterx.db",
        tmp_path / "server.log",
        command=["prlimit", "--nofile=600:600", "--", *Server.default_command()],
        TASKROUTERX_SIMULATOR="off",
    )
    try:
        holders = [connect(running) for _ in range(88)]
        time.sleep(0.2)
        with connect(running) as extra:
            extra.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert_problem(read_response(extra), 503)
        for sock in holders:
            sock.close()
        time.sleep(0.2)
        assert running.client.get("/api/v1/health").status_code == 200
    finally:
        running.stop()
    assert "serving at most 88 connections, not 1000" in (tmp_path / "server.log").read_text()
