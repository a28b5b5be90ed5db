"""The README's Python tour runs as written against a real server started as `make run`
starts it (demo pools, the simulator), the address aside: the typed client's submit, wait,
decisions, switch, stats, verify and what-if, printing what the comments promise."""

import re
import subprocess
import sys
from pathlib import Path

from tests.e2e.support import Server

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readmes_python_tour_runs_against_the_real_server(tmp_path: Path) -> None:
    (tour,) = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    server = Server(tmp_path / "tour.db", tmp_path / "server.log")
    try:
        code = tour.replace("http://127.0.0.1:8000", server.url)
        ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=120)  # fmt: skip
    finally:
        server.stop()
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0] == "completed in eu-west-cpu-pool"
    assert lines[1].startswith("fifo v1 chose eu-west-cpu-pool")
    assert "verified: True" in lines
    assert re.fullmatch(r"\d+ of \d+ placements would change", lines[-1])
