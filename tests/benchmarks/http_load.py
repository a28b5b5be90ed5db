"""Benchmark 1: POST /api/v1/tasks under wrk at several connection counts, with the
scheduler and simulated workers running, against a bare FastAPI GET /ping in the same run.
Benchmark 2 (end to end) also drives its load through `wrk`."""

import re
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.benchmarks.harness import Report, Row, Scale
from tests.benchmarks.servers import ensure_wrk, server

SUBMIT_LUA = """
math.randomseed(os.time())
local types = {"order", "simulation", "query"}
local regions = {"us-east", "us-west", "eu-west", "ap-east"}
local kinds = {"", ',"resource_type":"cpu"', ',"resource_type":"gpu"'}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local body = string.format(
    '{"type":"%s","priority":%d,"cost":%.2f,"region":"%s","metadata":{"n":%d}%s}',
    types[math.random(#types)], math.random(1, 10), math.random() * 50 + 0.1,
    regions[math.random(#regions)], math.random(1, 1000000), kinds[math.random(#kinds)])
  return wrk.format(nil, "/api/v1/tasks", nil, body)
end
"""

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int


def wrk(url: str, connections: int, seconds: int, script: Path | None = None) -> WrkResult:
    command = [
        ensure_wrk(),
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
    ]
    if script is not None:
        command += ["-s", str(script)]
    output = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    return parse(output)


def parse(output: str) -> WrkResult:
    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        return float(match.group(1)) * UNITS_MS[match.group(2)] if match else float("nan")

    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (
        sum(map(int, sockets.groups())) if sockets else 0
    )
    return WrkResult(
        float(rate.group(1)) if rate else 0.0,
        latency("50"),
        latency("99"),
        errors,
        int(total.group(1)) if total else 0,
    )


def median(results: list[WrkResult]) -> WrkResult:
    return WrkResult(
        statistics.median(r.requests_per_s for r in results),
        statistics.median(r.p50_ms for r in results),
        statistics.median(r.p99_ms for r in results),
        int(statistics.median(r.errors for r in results)),
        int(statistics.median(r.requests for r in results)),
    )


def run(scale: Scale, report: Report) -> None:
    """The server as it starts by default (two processes on two cores), then, at the most
    connections, the same load on one process."""
    submitted: dict[int, WrkResult] = {}
    with tempfile.TemporaryDirectory() as directory:
        script = Path(directory) / "submit.lua"
        script.write_text(SUBMIT_LUA)
        with server("ping") as ping_url, server("app", Path(directory) / "http.db") as app_url:
            for connections in scale.http_connections:
                ping = median(
                    [
                        wrk(ping_url + "/ping", connections, scale.http_seconds)
                        for _ in range(scale.runs)
                    ]
                )
                submit = submitted[connections] = median(
                    [
                        wrk(app_url, connections, scale.http_seconds, script)
                        for _ in range(scale.runs)
                    ]
                )
                case = f"{connections} connections"
                target = ">= 2,500/s, >= 0.5x" if connections == 64 else None
                report.add(
                    Row(
                        "http",
                        case,
                        "POST /tasks req/s",
                        submit.requests_per_s,
                        "req/s",
                        "GET /ping",
                        ping.requests_per_s,
                        target,
                    )
                )
                report.add(
                    Row(
                        "http",
                        case,
                        "POST /tasks p50",
                        submit.p50_ms,
                        "ms",
                        "GET /ping",
                        ping.p50_ms,
                    )
                )
                report.add(
                    Row(
                        "http",
                        case,
                        "POST /tasks p99",
                        submit.p99_ms,
                        "ms",
                        "GET /ping",
                        ping.p99_ms,
                        "p99 < 50 ms" if connections == 64 else None,
                    )
                )
                report.add(
                    Row(
                        "http",
                        case,
                        "POST /tasks errors",
                        submit.errors,
                        "",
                        "GET /ping",
                        ping.errors,
                    )
                )
        connections = max(scale.http_connections)
        one_db = Path(directory) / "one.db"
        with server("app", one_db, TASKROUTERX_PROCESSES="1") as one_url:
            one = median(
                [wrk(one_url, connections, scale.http_seconds, script) for _ in range(scale.runs)]
            )
        two = submitted[connections]
        for name, unit, value, baseline in (
            ("req/s", "req/s", two.requests_per_s, one.requests_per_s),
            ("p99", "ms", two.p99_ms, one.p99_ms),
        ):
            report.add(
                Row(
                    "http",
                    f"{connections} connections, processes",
                    f"POST /tasks {name}, 2 processes",
                    value,
                    unit,
                    "1 process",
                    baseline,
                )
            )
