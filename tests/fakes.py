"""Fakes that implement the application's ports, for unit tests."""

import hashlib
import itertools
import threading
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from typing import Any

from application.audit.chain import GENESIS
from application.audit.snapshot_check import CheckedSnapshot
from application.commit_signal import CommitSignal
from application.errors import ConcurrencyConflict, StoreUnavailable
from application.messages import (
    Command,
    CommandResult,
    EventMetadata,
    MessageContext,
    RecordedEvent,
    StreamWrite,
)
from application.ports import CommandSender
from application.restored_state import RunningTasks, SchedulerState, TimekeeperState
from domain.events import DomainEvent
from domain.values import Algorithm
from infrastructure.codec import encode, payload_dict


class FakeClock:
    def __init__(self, start: datetime = datetime(2026, 1, 1, tzinfo=UTC)) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


class SequentialIds:
    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def new_id(self) -> str:
        return str(uuid.UUID(int=next(self._counter)))


class ChainedEvent:
    """A recorded event as the fake store's verification reads it."""

    def __init__(self, recorded: RecordedEvent, stored_hash: str) -> None:
        self.recorded = recorded
        self.hash = stored_hash
        self.position = recorded.position
        self.stream_id = recorded.stream_id
        self.type = recorded.type
        self.correlation_id = recorded.correlation_id

    @property
    def data(self) -> Mapping[str, Any]:
        return self.recorded.data

    @property
    def event(self) -> DomainEvent:
        return self.recorded.event

    def link(self, previous: str) -> str:
        return self.hash_of(previous, self.recorded)

    @staticmethod
    def hash_of(previous: str, recorded: RecordedEvent) -> str:
        line = f"{previous}/{recorded.position}/{recorded.stream_id}/{recorded.type}"
        return hashlib.sha256(line.encode()).hexdigest()


class InMemoryEventStore:
    def __init__(self, clock: FakeClock | None = None, signal: CommitSignal | None = None) -> None:
        self._clock = clock or FakeClock()
        self._ids = SequentialIds()
        self._signal = signal or CommitSignal()
        self._log: list[RecordedEvent] = []
        self._versions: dict[str, int] = {}
        self._lock = threading.Lock()

    def append(self, writes: Sequence[StreamWrite], context: MessageContext) -> list[RecordedEvent]:
        with self._lock:
            for write in writes:
                actual = self._versions.get(write.stream_id, 0)
                if actual != write.expected_version:
                    raise ConcurrencyConflict(write.stream_id, write.expected_version, actual)
            recorded = []
            for write in writes:
                for offset, event in enumerate(write.events, start=1):
                    metadata = EventMetadata(
                        self._ids.new_id(),
                        context.correlation_id,
                        context.causation_id,
                        context.actor,
                        self._clock.now(),
                        context.trace,
                    )
                    recorded.append(
                        RecordedEvent.of(
                            len(self._log) + len(recorded) + 1,
                            write.stream_id,
                            write.expected_version + offset,
                            event,
                            metadata,
                            payload_dict(encode(event)),
                        )
                    )
            for write in writes:
                self._versions[write.stream_id] = write.expected_version + len(write.events)
            self._log.extend(recorded)
        if recorded:
            self._signal.publish(recorded[-1].position)
        return recorded

    def read_stream(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
        with self._lock:
            return [
                event
                for event in self._log
                if event.stream_id == stream_id and event.version > after_version
            ]

    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        with self._lock:
            return self._log[after_position : after_position + limit]

    def read_checked(
        self,
        after_position: int,
        limit: int,
        up_to: int | None = None,
        types: frozenset[str] | None = None,
    ) -> list["ChainedEvent"]:
        """The log with a hash chain over each event's position, stream and type (the
        SQL store's covers every stored value)."""
        with self._lock:
            previous = GENESIS
            chained = []
            for recorded in self._log:
                event = ChainedEvent(recorded, ChainedEvent.hash_of(previous, recorded))
                chained.append(event)
                previous = event.hash
            return [
                event
                for event in chained[after_position:]
                if (up_to is None or event.position <= up_to)
                and (types is None or event.type in types)
            ][:limit]

    def snapshots(self, after_position: int, up_to: int) -> list[CheckedSnapshot]:
        """The fake store keeps no snapshots."""
        return []

    def stream_events(self, stream_id: str, up_to_version: int) -> list[DomainEvent]:
        return [e.event for e in self.read_stream(stream_id) if e.version <= up_to_version]

    def read_types(
        self, after_position: int, types: frozenset[str], limit: int = 1000
    ) -> tuple[list[RecordedEvent], int]:
        with self._lock:
            matching = [e for e in self._log[after_position:] if e.type in types][:limit]
            reached = matching[-1].position if len(matching) == limit else len(self._log)
            return matching, max(reached, after_position)

    def head(self) -> int:
        with self._lock:
            return len(self._log)


class EmptyStateSource:
    """Start-up state of a fresh log: reactors then learn everything from the events."""

    def scheduler_state(self) -> SchedulerState:
        return SchedulerState(0, Algorithm.FIFO, [], [])

    def running_tasks(self) -> RunningTasks:
        return RunningTasks(0, [])

    def timekeeper_state(self) -> TimekeeperState:
        return TimekeeperState(0, [])


class FailingWrites:
    """A CommandSender whose next `failures` commands fail as a locked or full database
    makes them fail (StoreUnavailable: nothing written); then it sends through `inner`."""

    def __init__(self, inner: CommandSender, failures: int = 0) -> None:
        self._inner = inner
        self.failures = failures
        self.refused: list[Command] = []

    def submit(self, command: Command, context: MessageContext) -> "Future[CommandResult]":
        if self.failures <= 0:
            return self._inner.submit(command, context)
        self.failures -= 1
        self.refused.append(command)
        future: Future[CommandResult] = Future()
        future.set_exception(StoreUnavailable("database unavailable: database is locked"))
        return future
