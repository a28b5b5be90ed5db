"""Value types shared by the aggregates."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum


class TaskType(StrEnum):
    ORDER = "order"
    SIMULATION = "simulation"
    QUERY = "query"


class TaskStatus(StrEnum):
    DELAYED = "delayed"
    """Waiting for its time: a `not_before` on submission, or a retry's backoff."""
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    """Failed for good: its attempts ran out (a dead letter), or it had none to spare."""
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        """Nothing moves the task on by itself: only an operator's retry leaves `failed`."""
        return self in (TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED)


class ResourceType(StrEnum):
    CPU = "cpu"
    GPU = "gpu"


class Execution(StrEnum):
    """Who runs a pool's tasks: the built-in simulator, or worker processes that lease them."""

    SIMULATED = "simulated"
    EXTERNAL = "external"


class Algorithm(StrEnum):
    FIFO = "fifo"
    PRIORITY = "priority"
    MIN_COST = "min_cost"


MIN_PRIORITY = 1
MAX_PRIORITY = 10


@dataclass(frozen=True)
class Limits:
    """A number of running tasks per resource type (a tenant's quota, or what it may
    borrow beyond it); None: no limit on that type."""

    cpu: int | None = None
    gpu: int | None = None

    def of(self, resource: ResourceType) -> int | None:
        return self.cpu if resource is ResourceType.CPU else self.gpu


NO_LIMITS = Limits()
NO_BORROWING = Limits(0, 0)


def epoch_us(moment: datetime) -> int:
    """A time zone aware moment in whole microseconds since the Unix epoch (an attempt's
    start, as preemption orders running tasks: larger is newer)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
