"""The shop's workers: `python workers.py cpu` runs the CPU pool's (orders, sync
functions in threads), `python workers.py gpu` the GPU pool's (renders, an async function).

    TASKROUTERX_URL=http://127.0.0.1:8000 python workers.py cpu
"""

import asyncio
import logging
import os
import sys

from interfaces.client import Task
from interfaces.worker import Failure, Worker, current_attempt

URL = os.environ.get("TASKROUTERX_URL", "http://127.0.0.1:8000")
API_KEY = os.environ.get("TASKROUTERX_API_KEY")


def cpu_worker() -> Worker:
    worker = Worker(pool="shop-cpu", url=URL, api_key=API_KEY, concurrency=4, grace_s=10)

    @worker.task("order")
    def pack(task: Task) -> None:
        """Packs an order, a step at a time; a cancelled order stops between steps."""
        attempt = current_attempt()
        items = task["task_metadata"].get("items", [])
        for item in items:
            if attempt.wait(task["task_metadata"].get("seconds_per_item", 0.1)):
                attempt.check()  # cancelled (or the worker is leaving): give it back
            if item == "out-of-stock":
                raise LookupError(f"order {task['id']}: {item} cannot be packed")
        print(f"packed {len(items)} item(s) for {task['task_metadata'].get('customer')}")

    @worker.task("query")
    def stock(task: Task) -> None:
        sku = task["task_metadata"].get("sku")
        if not sku:
            raise Failure("a stock query needs a sku")  # reported as is, no traceback

    return worker


def gpu_worker() -> Worker:
    worker = Worker(pool="shop-gpu", url=URL, api_key=API_KEY, concurrency=2, grace_s=10)

    @worker.task("simulation")
    async def render(task: Task) -> None:
        """Renders product images; a cancel arrives as asyncio cancellation."""
        await asyncio.sleep(task["task_metadata"].get("seconds", 0.5))

    return worker


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    workers = {"cpu": cpu_worker, "gpu": gpu_worker}
    if len(sys.argv) != 2 or sys.argv[1] not in workers:
        sys.exit("usage: python workers.py cpu|gpu")
    workers[sys.argv[1]]().run()
