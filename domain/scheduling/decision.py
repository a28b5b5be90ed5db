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
    draining: bool = False

    @property
    def free(self) -> int:
        """Slots a new task could take: none while the pool drains."""
        return 0 if self.draining else max(self.capacity - self.load, 0)


@dataclass(frozen=True)
class TaskSnapshot:
    """The task attributes a scheduling algorithm may look at."""

    task_id: str
    priority: int
    region: str
    resource_type: ResourceType | None


class FilterReason(StrEnum):
    WRONG_RESOURCE_TYPE = "wrong resource type"
    DRAINING = "draining"
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
    """Recorded column-wise: every pool as seen, and aligned with it, why it was filtered
    out (`verdicts`) or the key it was ranked by (`rank_keys`, lowest ranks first)."""

    algorithm: Algorithm
    algorithm_version: int
    task: TaskSnapshot
    pools: tuple[PoolSnapshot, ...]
    verdicts: tuple[FilterReason | None, ...]
    rank_keys: tuple[tuple[float, ...] | None, ...]
    chosen_pool_id: str | None
    summary: str

    @property
    def ranks(self) -> list[int | None]:
        """Aligned with `pools`: each ranked pool's rank (1 is the best), None for the
        pools filtered out."""
        ranked = sorted((key, index) for index, key in enumerate(self.rank_keys) if key is not None)
        ranks: list[int | None] = [None] * len(self.pools)
        for rank, (_, index) in enumerate(ranked, start=1):
            ranks[index] = rank
        return ranks

    @property
    def candidates(self) -> tuple[Candidate, ...]:
        """Each pool's fate, with its rank among the pools that were ranked."""
        return tuple(
            Candidate(pool, verdict, rank, key)
            for pool, verdict, rank, key in zip(
                self.pools, self.verdicts, self.ranks, self.rank_keys, strict=True
            )
        )

    @property
    def chosen(self) -> PoolSnapshot | None:
        for pool in self.pools:
            if pool.pool_id == self.chosen_pool_id:
                return pool
        return None
