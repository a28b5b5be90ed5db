"""What the sync and async clients share beyond single calls: walking the pages of a list,
and waiting for a task through the event stream."""

import time
from dataclasses import dataclass
from typing import Any

from interfaces.client.events import StreamedEvent
from interfaces.client.types import Task, TaskPage

FINISHED = frozenset({"completed", "cancelled", "failed"})
ENDINGS = frozenset(
    {"TaskCompleted", "TaskCancelled", "TaskFailed", "TaskLeaseExpired", "TaskDeadLettered"}
)
"""The events after which a task may have finished (a failure may be retried: it is read
again to know)."""
PING_S = 5
"""The keep-alive a waiting stream asks for: how often it can see its time is up."""
RECONNECT_S = 0.5


class Pages:
    """A walk over a list's pages, newest first: `next()` is the page to read (None after
    the last), `take(page)` its tasks not given before (a task submitted during the walk
    pushes older ones to a later page)."""

    def __init__(self, page_size: int) -> None:
        self._size = page_size
        self._page = 0
        self._done = False
        self._seen: set[str] = set()

    def next(self) -> int | None:
        return None if self._done else self._page + 1

    def take(self, found: TaskPage) -> list[Task]:
        self._page += 1
        self._done = self._page * self._size >= found["total"] or not found["tasks"]
        new = [task for task in found["tasks"] if task["id"] not in self._seen]
        self._seen.update(task["id"] for task in new)
        return new


@dataclass
class Seen:
    """Where a wait has read the task's events up to."""

    position: int

    def left(self, deadline: float | None, task: Task) -> float | None:
        """Seconds left before `deadline` (None: no limit); TimeoutError if none are."""
        if deadline is None:
            return None
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"task {task['id']} is still {task['status']}")
        return left


def stream_of(task_id: str, after: int, left: float | None) -> tuple[dict[str, Any], float]:
    """The stream's query for a task's events after `after`, pinging often enough to see
    `left` seconds run out, and the read timeout to give it."""
    ping = PING_S if left is None else max(1, min(PING_S, int(left)))
    read = PING_S * 3 if left is None else max(min(PING_S * 3, left), 0.1)
    return {"stream": f"task-{task_id}", "after": after, "ping_s": ping}, read


def ends(event: StreamedEvent | None, seen: Seen, started: float, left: float | None) -> bool:
    """Whether a wait's stream can stop at this frame: an event that may end the task, or
    a ping after the time left ran out."""
    if event is not None:
        seen.position = event.position
        return event.type in ENDINGS
    return left is not None and time.monotonic() - started >= left


def following(
    after: int, stream: str | None, type: str | None, tenant: str | None
) -> dict[str, Any]:
    """The stream's query for the log after `after`, of one stream, type or tenant."""
    asked = {"stream": stream, "type": type, "tenant": tenant, "ping_s": PING_S}
    return {"after": after, **{name: value for name, value in asked.items() if value is not None}}
