"""What a scheduling decision saw and concluded, recorded verbatim in the event log."""

from dataclasses import dataclass
from enum import StrEnum

from domain.values import Algorithm, ResourceType


@dataclass(frozen=True)
class PoolSnapshot:
    """A worker pool as the scheduler saw it at decision time."""

    pool_id: str
    name: str
    region: str
    resource_type: ResourceType
    cost_per_unit: float
    capacity: int
    load: int
    registration: int

    @property
    def free(self) -> int:
        return max(self.capacity - self.load, 0)


@dataclass(frozen=True)
class TaskSnapshot:
    """The task attributes a scheduling algorithm may look at."""

    task_id: str
    priority: int
    region: str
    resource_type: ResourceType | None


class FilterReason(StrEnum):
    WRONG_RESOURCE_TYPE = "wrong resource type"
    AT_CAPACITY = "at capacity"
    OTHER_REGION = "other region"


@dataclass(frozen=True)
class Candidate:
    """One pool's fate in a decision: filtered out (and why) or ranked (and by what key)."""

    pool: PoolSnapshot
    filtered: FilterReason | None
    rank: int | None
    rank_key: tuple[float, ...] | None


@dataclass(frozen=True)
class Decision:
    algorithm: Algorithm
    algorithm_version: int
    task: TaskSnapshot
    candidates: tuple[Candidate, ...]
    chosen_pool_id: str | None
    summary: str

    @property
    def chosen(self) -> PoolSnapshot | None:
        for candidate in self.candidates:
            if candidate.pool.pool_id == self.chosen_pool_id:
                return candidate.pool
        return None
