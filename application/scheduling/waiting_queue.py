"""Tasks waiting for a pool, in the order the active algorithm takes them.

A task can be placed exactly when some pool of the resource type it requires has a free
slot (region is only a preference), so tasks are kept in one heap per tenant and
requirement, and the candidates for the next placement are each tenant's heads among the
requirements that have room (`heads`); fair share picks among the tenants
(`tenant_shares`).
"""

import heapq
from collections.abc import Callable, Iterator

from application.restored_state import WaitingTask
from domain.values import Algorithm, ResourceType

Requirement = ResourceType | None
OrderKey = tuple[int, ...]
Lane = tuple[str, Requirement]
"""A tenant and a requirement: one heap each."""


class WaitingQueue:
    def __init__(self, algorithm: Algorithm = Algorithm.FIFO) -> None:
        self._algorithm = algorithm
        self._tasks: dict[str, WaitingTask] = {}
        self._heaps: dict[Lane, list[tuple[OrderKey, str]]] = {}
        self._undeferred: dict[str, None] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    def __contains__(self, task_id: str) -> bool:
        return task_id in self._tasks

    def add(self, task: WaitingTask) -> None:
        self._tasks[task.task_id] = task
        heapq.heappush(self._heaps.setdefault(_lane(task), []), (self._key(task), task.task_id))
        if not task.deferred:
            self._undeferred[task.task_id] = None

    def remove(self, task_id: str) -> WaitingTask | None:
        self._undeferred.pop(task_id, None)
        return self._tasks.pop(task_id, None)

    def mark_deferred(self, task_id: str) -> None:
        self._undeferred.pop(task_id, None)

    def mark_undeferred(self, task_id: str) -> None:
        """A deferral we counted on was not recorded: the task still needs one."""
        if task_id in self._tasks:
            self._undeferred[task_id] = None

    def take(self, task_id: str) -> bool:
        """Remove a task about to be placed; return whether it still awaited a deferral."""
        undeferred = task_id in self._undeferred
        self.remove(task_id)
        return undeferred

    def put_back(self, task: WaitingTask, undeferred: bool) -> None:
        """Undo `take` after the placement was rejected."""
        self._tasks[task.task_id] = task
        heapq.heappush(self._heaps.setdefault(_lane(task), []), (self._key(task), task.task_id))
        if undeferred:
            self._undeferred[task.task_id] = None

    def reorder(self, algorithm: Algorithm) -> None:
        self._algorithm = algorithm
        self._heaps = {}
        for task in self._tasks.values():
            self._heaps.setdefault(_lane(task), []).append((self._key(task), task.task_id))
        for heap in self._heaps.values():
            heapq.heapify(heap)

    def heads(
        self, has_room: Callable[[Requirement], bool]
    ) -> dict[str, dict[Requirement, tuple[OrderKey, WaitingTask]]]:
        """Each tenant's first task in order per requirement some pool has room for."""
        found: dict[str, dict[Requirement, tuple[OrderKey, WaitingTask]]] = {}
        for (tenant, requirement), heap in self._heaps.items():
            while heap and not self._current(heap[0]):
                heapq.heappop(heap)
            if heap and has_room(requirement):
                key, task_id = heap[0]
                found.setdefault(tenant, {})[requirement] = (key, self._tasks[task_id])
        return found

    def undeferred(self) -> Iterator[WaitingTask]:
        """Waiting tasks with no deferral recorded yet, in arrival order."""
        for task_id in list(self._undeferred):
            if task_id in self._undeferred:
                yield self._tasks[task_id]

    def _current(self, entry: tuple[OrderKey, str]) -> bool:
        """An entry is stale once its task left the queue, even if the task came back
        later (a retry): it then has a new entry, ordered by its new position."""
        task = self._tasks.get(entry[1])
        return task is not None and entry[0][-1] == task.queued_position

    def _key(self, task: WaitingTask) -> OrderKey:
        if self._algorithm is Algorithm.PRIORITY:
            return (-task.priority, task.queued_position)
        return (task.queued_position,)


def _lane(task: WaitingTask) -> Lane:
    return (task.tenant, task.resource_type)
