"""The scheduler's view of the worker pools, kept current from the log."""

from collections import Counter
from dataclasses import replace

from domain.scheduling import PoolSnapshot, TaskSnapshot
from domain.scheduling.record import digest_of, pool_hash
from domain.values import ResourceType


class PoolBoard:
    """Pools in registration order (the order they were put first), with each pool's
    hash kept as it changes, so a decision's input digest costs one hash over the hashes."""

    def __init__(self) -> None:
        self._pools: dict[str, PoolSnapshot] = {}
        self._hashes: dict[str, bytes] = {}
        self._free: Counter[ResourceType] = Counter()
        self._capacity: Counter[ResourceType] = Counter()

    def __len__(self) -> int:
        return len(self._pools)

    def put(self, pool: PoolSnapshot) -> None:
        previous = self._pools.get(pool.pool_id)
        if previous is not None:
            self._free[previous.resource_type] -= previous.free
            self._capacity[previous.resource_type] -= _taking(previous)
        self._pools[pool.pool_id] = pool
        self._hashes[pool.pool_id] = pool_hash(pool)
        self._free[pool.resource_type] += pool.free
        self._capacity[pool.resource_type] += _taking(pool)

    def set_capacity(self, pool_id: str, capacity: int) -> None:
        self.put(replace(self._pools[pool_id], capacity=capacity))

    def set_draining(self, pool_id: str, draining: bool) -> None:
        self.put(replace(self._pools[pool_id], draining=draining))

    def add_load(self, pool_id: str, delta: int) -> None:
        pool = self._pools[pool_id]
        self.put(replace(pool, load=pool.load + delta))

    def has_room(self, requirement: ResourceType | None) -> bool:
        if requirement is None:
            return sum(self._free.values()) > 0
        return self._free[requirement] > 0

    def capacity(self) -> dict[ResourceType, int]:
        """Slots per resource type, over the pools that take tasks (not draining)."""
        return {resource: self._capacity[resource] for resource in ResourceType}

    def taking(self, pool_id: str) -> bool:
        """The pool takes tasks (it is registered and not draining)."""
        pool = self._pools.get(pool_id)
        return pool is not None and not pool.draining

    def resource_of(self, pool_id: str) -> ResourceType | None:
        pool = self._pools.get(pool_id)
        return None if pool is None else pool.resource_type

    def digest(self, task: TaskSnapshot) -> str:
        """The input digest of a decision for `task` on the board as it is."""
        return digest_of(task, self._hashes.values())

    def snapshots(self) -> list[PoolSnapshot]:
        """Every pool in registration order."""
        return list(self._pools.values())


def _taking(pool: PoolSnapshot) -> int:
    """The slots a pool offers while it takes tasks."""
    return 0 if pool.draining else pool.capacity
