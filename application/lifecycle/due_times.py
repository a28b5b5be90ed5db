"""Due times keyed by what they are for: setting a key again moves its time, dropping it
cancels it. A heap with lazy deletion, so both cost O(log n)."""

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Kind(StrEnum):
    READY = "ready"
    """A delayed task's `not_before` or retry backoff ends."""
    LEASE = "lease"
    """A worker's lease on a task runs out."""
    TIMEOUT = "timeout"
    """An attempt runs past the task's `timeout_s`."""


@dataclass(frozen=True)
class Due:
    at: datetime
    kind: Kind
    task_id: str
    correlation_id: str
    attempt: int = 0
    """For a timeout: the attempt it ends."""


class DueTimes:
    def __init__(self) -> None:
        self._current: dict[tuple[str, Kind], Due] = {}
        self._heap: list[tuple[datetime, int, Due]] = []
        self._pushed = 0

    def __len__(self) -> int:
        return len(self._current)

    def set(self, due: Due) -> None:
        self._current[(due.task_id, due.kind)] = due
        self._pushed += 1
        heapq.heappush(self._heap, (due.at, self._pushed, due))

    def drop(self, task_id: str, *kinds: Kind) -> None:
        for kind in kinds or tuple(Kind):
            self._current.pop((task_id, kind), None)

    def pending(self) -> list[Due]:
        """Every due time, earliest first."""
        return sorted(self._current.values(), key=lambda due: (due.at, due.task_id, due.kind))

    def get(self, task_id: str, kind: Kind) -> Due | None:
        return self._current.get((task_id, kind))

    def pop_due(self, now: datetime) -> Iterator[Due]:
        """Every due time at or before `now`, earliest first, each removed as it goes."""
        while (due := self._peek()) is not None and due.at <= now:
            heapq.heappop(self._heap)
            del self._current[(due.task_id, due.kind)]
            yield due

    def next_at(self) -> datetime | None:
        due = self._peek()
        return None if due is None else due.at

    def _peek(self) -> Due | None:
        heap = self._heap
        while heap and self._current.get((heap[0][2].task_id, heap[0][2].kind)) is not heap[0][2]:
            heapq.heappop(heap)
        return heap[0][2] if heap else None
