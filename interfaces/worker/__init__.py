"""Workers whose tasks are Python functions (`Worker`), and `taskrouterx worker -- CMD`
built on them (`command`). Importing it loads neither the server nor its settings.

    from interfaces.worker import Worker, current_attempt

    worker = Worker(pool="lab-cpu", url="http://localhost:8000", concurrency=4)

    @worker.task("order")
    def handle(task):
        while not current_attempt().wait(1.0):
            ...

    worker.run()
"""

from interfaces.worker.attempt import Attempt, StopReason, current_attempt
from interfaces.worker.outcomes import Failure, Release, Stopped, Unrunnable
from interfaces.worker.worker import Worker, WorkerError

__all__ = [
    "Attempt", "Failure", "Release", "StopReason", "Stopped", "Unrunnable", "Worker",
    "WorkerError", "current_attempt",
]  # fmt: skip
