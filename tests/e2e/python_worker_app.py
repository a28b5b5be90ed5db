"""A worker program whose tasks are Python functions, run by tests/e2e/test_python_workers.py:
`python -m tests.e2e.python_worker_app URL WORKER_ID GRACE_S`. Each function writes what
it does (start, done, stopped) to the file named in the task's metadata, with the worker's
id, so a test sees which worker ran what and how it ended."""

import asyncio
import logging
import sys
import time
from pathlib import Path

from interfaces.client import Task
from interfaces.worker import Worker, current_attempt


def note(task: Task, what: str, worker_id: str) -> None:
    with Path(task["task_metadata"]["log"]).open("a") as log:
        log.write(f"{what} {task['id']} {worker_id}\n")


def build(url: str, worker_id: str, grace_s: float) -> Worker:
    worker = Worker("lab-cpu", url, worker_id=worker_id, grace_s=grace_s, heartbeat_s=0.4,
                    concurrency=2, wait_s=1.0)  # fmt: skip

    @worker.task("simulation")
    def simulate(task: Task) -> None:
        """Sync: sleeps in steps, stopping when its attempt is to stop."""
        attempt = current_attempt()
        note(task, "start", worker_id)
        if attempt.wait(task["task_metadata"].get("sleep", 0)):
            note(task, f"stopped:{attempt.stop_reason.name}", worker_id)
            attempt.check()
        if task["task_metadata"].get("fail"):
            raise ValueError("it went wrong")
        note(task, "done", worker_id)

    @worker.task("order")
    async def order(task: Task) -> None:
        """Async: sleeps; a cancel arrives as asyncio cancellation."""
        note(task, "start", worker_id)
        try:
            await asyncio.sleep(task["task_metadata"].get("sleep", 0))
        except asyncio.CancelledError:
            note(task, "cancelled", worker_id)
            raise
        note(task, "done", worker_id)

    return worker


if __name__ == "__main__":
    url, worker_id, grace_s = sys.argv[1], sys.argv[2], float(sys.argv[3])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    print(f"worker {worker_id} up at {time.time()}", flush=True)
    build(url, worker_id, grace_s).run()
