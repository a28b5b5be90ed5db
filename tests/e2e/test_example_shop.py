"""The example project in docs/examples/shop runs as its README says: a real server
without demo pools, the CPU and the GPU worker as processes of their own, and the shop's
client, which exits 0 only if every task ended as expected (orders and a render completed,
an unpackable order dead-lettered, a cancelled one cancelled)."""

import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.support import Server

ROOT = Path(__file__).resolve().parents[2]
SHOP = ROOT / "docs" / "examples" / "shop"


def test_the_shop_example_runs_as_documented(tmp_path: Path) -> None:
    server = Server(tmp_path / "shop.db", tmp_path / "server.log", TASKROUTERX_DEMO_POOLS="false")
    env = {**os.environ, "TASKROUTERX_URL": server.url, "PYTHONPATH": str(ROOT)}
    workers = []
    try:
        for pool in ("cpu", "gpu"):
            log = (tmp_path / f"{pool}.log").open("ab")
            workers.append(subprocess.Popen([sys.executable, str(SHOP / "workers.py"), pool],
                                            env=env, cwd=ROOT, stdout=log,
                                            stderr=subprocess.STDOUT))  # fmt: skip
        shop = subprocess.run([sys.executable, str(SHOP / "shop.py")], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=180)  # fmt: skip
        assert shop.returncode == 0, shop.stdout + shop.stderr
        lines = shop.stdout.splitlines()
        assert "order for ada: completed after 1 attempt(s)" in lines
        assert "product render: completed after 1 attempt(s)" in lines
        assert any(line.startswith("order that cannot be packed: failed after 2 attempt(s) "
                                   "(LookupError: order ") for line in lines)  # fmt: skip
        assert any(line.startswith("order cancelled while packing: cancelled") for line in lines)
        assert "in the dead letters: 1 of the shop's orders" in lines
    finally:
        try:
            for worker in workers:
                worker.terminate()
            exits = [worker.wait(timeout=60) for worker in workers]
        finally:
            server.stop()
    assert exits == [0, 0], "each worker stops cleanly on SIGTERM"
