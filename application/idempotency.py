"""Idempotent commands: a request retried with the same Idempotency-Key gets the response
the first one got, and writes nothing.

The key, a fingerprint of the request and the response are remembered in the same
transaction as the command's events, so either both are committed or neither is: a retry
after a lost response finds the key exactly when the command took effect. Keys are
forgotten after a time to live; the same key with a different request is refused.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from application.errors import IdempotencyKeyReused
from application.messages import CommandResult, RecordedEvent
from application.ports import Clock


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes


class Sources(Protocol):
    """What a response is rendered from."""

    def history(self, stream_id: str) -> list[RecordedEvent]:
        """A stream's events, as the reader sees them (inside the writer: uncommitted ones
        too)."""
        ...

    def task_row(self, task_id: str) -> dict[str, Any] | None:
        """The task's row in the tasks projection as committed."""
        ...


Render = Callable[[CommandResult, Sources], Response]
"""The response a command's result gets; pure, so it can run in the writer, and picklable
(a module's function, or a frozen dataclass of plain values), so it can be sent to the
writer in another process."""


@dataclass(frozen=True)
class Remembered:
    fingerprint: str
    response: Response
    at: datetime


class IdempotencyRecords(Protocol):
    """Read and written inside the writer's open transaction."""

    def find(self, key: str) -> Remembered | None: ...

    def remember(self, key: str, record: Remembered) -> None: ...


@dataclass(frozen=True)
class Outcome:
    response: Response
    replayed: bool


def once(
    records: IdempotencyRecords,
    clock: Clock,
    ttl: timedelta,
    key: str,
    fingerprint: str,
    act: Callable[[], Response],
) -> Outcome:
    """Run `act` unless this key already answered this request within the time to live."""
    now = clock.now()
    known = records.find(key)
    if known is not None and now - known.at < ttl:
        if known.fingerprint != fingerprint:
            raise IdempotencyKeyReused(key)
        return Outcome(known.response, replayed=True)
    response = act()
    records.remember(key, Remembered(fingerprint, response, now))
    return Outcome(response, replayed=False)
