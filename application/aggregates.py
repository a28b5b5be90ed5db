"""Loading aggregates from their streams and saving what they decided, atomically.

Folded states are cached with their stream version; a load reads only the events from the
cached version on, so a long-lived pool stream costs one indexed range read. A stream not
in the cache, or whose cached version was archived since, starts from its newest snapshot,
if it has one.

Inside a write transaction whose store has told the cache which streams others wrote since
this process's last commit (`sync`), the cached states of the other streams are current:
a load reads nothing for them.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, Self, TypeVar

from application.messages import MessageContext, RecordedEvent, StreamWrite
from application.ports import EventStore
from application.snapshots import Snapshots
from domain.events import DomainEvent


class Aggregate(Protocol):
    def when(self, event: DomainEvent) -> Self: ...


A = TypeVar("A", bound=Aggregate)


@dataclass(frozen=True)
class Loaded(Generic[A]):
    """An aggregate's state (None if its stream is empty) at a stream version."""

    stream_id: str
    state: A | None
    version: int
    start: Callable[[DomainEvent], A]

    def fold(self, events: Sequence[DomainEvent]) -> "Loaded[A]":
        state = self.state
        for event in events:
            state = self.start(event) if state is None else state.when(event)
        return Loaded(self.stream_id, state, self.version + len(events), self.start)


@dataclass(frozen=True)
class Change:
    loaded: Loaded[Any]
    events: Sequence[DomainEvent]


class Aggregates:
    def __init__(
        self, store: EventStore, cache_size: int = 100_000, snapshots: Snapshots | None = None
    ) -> None:
        self._store = store
        self._snapshots = snapshots
        self._cache: OrderedDict[str, Loaded[Any]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._synced = threading.local()

    def sync(self, changed: Sequence[str] | None) -> None:
        """At the start of a write transaction, on its thread: `changed` are the streams
        others appended to since this process's last commit (None: not known, so every
        cached state is forgotten). Until `unsync`, loads on this thread trust the cache."""
        if changed is None:
            self.clear()
        else:
            self.forget(changed)
        self._synced.on = True

    def unsync(self) -> None:
        """The transaction ended: loads check the store again."""
        self._synced.on = False

    def load(self, stream_id: str, start: Callable[[DomainEvent], A]) -> Loaded[A]:
        with self._lock:
            cached = self._cache.get(stream_id)
        if cached is not None and getattr(self._synced, "on", False):
            return cached
        if cached is not None and cached.version > 0:
            # Read from the cached version's own event on. Another node may have written
            # after it and archived all of that since (removed from the hot log, kept in
            # a snapshot): then no newer event shows the cache is stale, but its own event
            # is gone too, and the stream loads as the log now holds it.
            events = self._store.read_stream(stream_id, after_version=cached.version - 1)
            if events and events[0].version == cached.version:
                return self._folded(cached, events[1:])
        loaded: Loaded[A] = self._first_load(stream_id, start)
        newer = self._store.read_stream(stream_id, after_version=loaded.version)
        if newer and newer[0].version != loaded.version + 1:
            # archived between the two reads: the snapshot taken at the new start
            loaded = self._first_load(stream_id, start)
            newer = self._store.read_stream(stream_id, after_version=loaded.version)
        return self._folded(loaded, newer)

    def _folded(self, loaded: Loaded[A], newer: Sequence[RecordedEvent]) -> Loaded[A]:
        if newer:
            loaded = loaded.fold([recorded.event for recorded in newer])
            self._remember(loaded)
        return loaded

    def _first_load(self, stream_id: str, start: Callable[[DomainEvent], A]) -> Loaded[A]:
        """Where a stream not in the cache starts: its newest snapshot, or nothing."""
        snapshot = None if self._snapshots is None else self._snapshots.latest(stream_id)
        if snapshot is None:
            return Loaded(stream_id, None, 0, start)
        return Loaded(stream_id, snapshot.state, snapshot.version, start)

    def save(self, changes: Sequence[Change], context: MessageContext) -> list[RecordedEvent]:
        writes = [
            StreamWrite(change.loaded.stream_id, change.loaded.version, change.events)
            for change in changes
            if change.events
        ]
        if not writes:
            return []
        try:
            recorded = self._store.append(writes, context)
        except BaseException:
            self.forget([write.stream_id for write in writes])
            raise
        for change in changes:
            if change.events:
                self._remember(change.loaded.fold(change.events))
        return recorded

    def forget(self, stream_ids: Sequence[str]) -> None:
        with self._lock:
            for stream_id in stream_ids:
                self._cache.pop(stream_id, None)

    def clear(self) -> None:
        """Forget every cached state (after a transaction that did not commit)."""
        with self._lock:
            self._cache.clear()

    def _remember(self, loaded: Loaded[Any]) -> None:
        with self._lock:
            self._cache[loaded.stream_id] = loaded
            self._cache.move_to_end(loaded.stream_id)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
