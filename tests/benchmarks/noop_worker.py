"""A worker of no-op Python functions, for the workers benchmark:
`python -m tests.benchmarks.noop_worker URL POOL CONCURRENCY async|sync`."""

import sys

from interfaces.client import Task
from interfaces.worker import Worker


async def nothing(task: Task) -> None:
    return None


def nothing_sync(task: Task) -> None:
    return None


if __name__ == "__main__":
    url, pool, concurrency, kind = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    worker = Worker(pool, url, concurrency=concurrency, worker_id=f"bench-{kind}", grace_s=0)
    worker.task()(nothing if kind == "async" else nothing_sync)
    worker.run()
