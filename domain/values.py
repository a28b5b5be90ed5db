"""Value types shared by the aggregates."""

from enum import StrEnum


class TaskType(StrEnum):
    ORDER = "order"
    SIMULATION = "simulation"
    QUERY = "query"


class TaskStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        """No transition leaves this state."""
        return self in (TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED)


class ResourceType(StrEnum):
    CPU = "cpu"
    GPU = "gpu"


class Algorithm(StrEnum):
    FIFO = "fifo"
    PRIORITY = "priority"
    MIN_COST = "min_cost"


MIN_PRIORITY = 1
MAX_PRIORITY = 10
