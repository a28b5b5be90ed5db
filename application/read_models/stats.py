"""The statistics: scheduler and latency counters, and per second the tasks that finished
(completed, or failed for good: a failed attempt that will be retried has not finished),
and of them the completed ones with the sum of their latencies.

Everything here is a sum of what each event adds, so any part of the log sums exactly
(a batch, a rebuild, a block of time travel). Latency is in integer microseconds."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NamedTuple

from application.read_models.record import Recorded, changing

MICROSECOND = timedelta(microseconds=1)


class Finished(NamedTuple):
    """A task that finished, in the second it finished."""

    second: int
    completed: int
    latency_us: int


class StatsChange(NamedTuple):
    counters: dict[str, int]
    finished: Finished | None = None


NOTHING = StatsChange({})

Change = Callable[[Recorded], StatsChange]


def unchanged(record: Recorded) -> StatsChange:
    return NOTHING


def finishing(change: Change) -> Change:
    """Marks a change that may finish a task (time travel reads only these to count the
    tasks finished in a window)."""
    change.finishes = True  # type: ignore[attr-defined]
    return change


def _assigned(record: Recorded) -> StatsChange:
    algorithm = record.data["decision"]["algorithm"]
    return StatsChange({"assigned": 1, f"assigned.{algorithm}": 1})


def _completed(record: Recorded) -> StatsChange:
    done = datetime.fromisoformat(record.data["completed_at"])
    latency = (done - datetime.fromisoformat(record.data["enqueued_at"])) // MICROSECOND
    return StatsChange(
        {"latency_sum_us": latency, "latency_count": 1},
        Finished(int(done.timestamp()), 1, latency),
    )


def _attempt_ended(moment: str) -> Change:
    """A failed attempt: a finished task only when no retry follows."""

    def change(record: Recorded) -> StatsChange:
        if record.data["retry_at"] is not None:
            return NOTHING
        second = int(datetime.fromisoformat(record.data[moment]).timestamp())
        return StatsChange({}, Finished(second, 0, 0))

    return change


PREEMPTED_OF = "preempted."
"""The counter of one tenant's preempted tasks is this prefix and its name."""


CHANGES: dict[str, Change] = {
    "WorkerAssigned": _assigned,
    "TaskDeferred": lambda record: StatsChange({"deferred": 1}),
    "TaskCompleted": finishing(_completed),
    "TaskFailed": finishing(_attempt_ended("failed_at")),
    "TaskLeaseExpired": finishing(_attempt_ended("expired_at")),
    "AlgorithmSwitched": lambda record: StatsChange({"algorithm_switches": 1}),
    "TaskQueued": unchanged,
    "TaskReady": unchanged,
    "TaskLeased": unchanged,
    "TaskLeaseExtended": unchanged,
    "TaskCancelRequested": unchanged,
    "TaskReleased": unchanged,
    "TaskPreempted": lambda record: StatsChange(
        {"preempted": 1, f"{PREEMPTED_OF}{record.data['tenant']}": 1}
    ),
    "TaskRetried": unchanged,
    "TaskCancelled": unchanged,
    "TaskDeadLettered": unchanged,
    "WorkerPoolRegistered": unchanged,
    "PoolCapacityChanged": unchanged,
    "PoolDrainStarted": unchanged,
    "PoolResumed": unchanged,
    "PoolExecutionChanged": unchanged,
    "PoolSlotClaimed": unchanged,
    "PoolSlotReleased": unchanged,
    "TenantCreated": unchanged,
    "TenantChanged": unchanged,
}
"""What each event adds to the counters and to the second it finished a task in."""


FINISHING = frozenset(
    kind for kind, change in CHANGES.items() if getattr(change, "finishes", False)
)
"""The event types that may finish a task."""


TYPES = changing(CHANGES, unchanged)
"""The event types that change this read model."""


def changes(record: Recorded) -> StatsChange:
    return CHANGES[record.type](record)
