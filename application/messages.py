"""The envelope every stored event travels in, and the context a command runs under."""

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from application.tracing import TraceParent
from domain.events import DomainEvent


@dataclass(frozen=True)
class MessageContext:
    """Who asked, and in answer to what: copied into every event a command records."""

    correlation_id: str
    causation_id: str | None = None
    actor: str = "api"
    trace: TraceParent | None = None
    """The span the command was sent from (tracing on): recorded with its events."""


@dataclass(frozen=True)
class EventMetadata:
    event_id: str
    correlation_id: str
    causation_id: str | None
    actor: str
    recorded_at: datetime
    trace: TraceParent | None = None
    """The span the event was recorded under: known to the process that appended it (its
    trace id is stored apart from the event: GET /api/v1/events?trace_id=)."""


@dataclass(frozen=True)
class RecordedEvent:
    """A stored event. Its domain event, and its payload as plain data, are each read on
    first use, so a reader that needs only the envelope (type, stream, metadata) never
    pays for decoding the payload."""

    position: int
    stream_id: str
    version: int
    type: str
    schema_version: int
    metadata: EventMetadata
    load: Callable[[], DomainEvent] = field(repr=False, compare=False)
    load_data: Callable[[], Mapping[str, Any]] = field(repr=False, compare=False)

    @staticmethod
    def of(
        position: int,
        stream_id: str,
        version: int,
        event: DomainEvent,
        metadata: EventMetadata,
        data: Mapping[str, Any],
    ) -> "RecordedEvent":
        """An event already in hand (just appended), with its payload as stored."""
        return RecordedEvent(
            position,
            stream_id,
            version,
            event.type_name(),
            event.schema_version,
            metadata,
            lambda: event,
            lambda: data,
        )

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled decoded (sent to another process, say): the loaders stay behind."""
        fields = (self.position, self.stream_id, self.version, self.type, self.schema_version)
        loaded = (_Loaded(self.event), _Loaded(dict(self.data)))
        return (RecordedEvent, (*fields, self.metadata, *loaded))

    @functools.cached_property
    def event(self) -> DomainEvent:
        return self.load()

    @functools.cached_property
    def data(self) -> Mapping[str, Any]:
        """The payload as stored, at the current schema version: plain data, times as
        fixed-width ISO text (what the read models fold)."""
        return self.load_data()

    @property
    def correlation_id(self) -> str:
        return self.metadata.correlation_id

    def caused(self, actor: str) -> MessageContext:
        """The context of a command issued in reaction to this event."""
        return MessageContext(
            self.metadata.correlation_id, self.metadata.event_id, actor, self.metadata.trace
        )


@dataclass(frozen=True)
class _Loaded:
    """A loader of what is already loaded."""

    value: Any

    def __call__(self) -> Any:
        return self.value


@dataclass(frozen=True)
class StreamWrite:
    """Events for one stream, valid only if the stream is still at `expected_version`."""

    stream_id: str
    expected_version: int
    events: Sequence[DomainEvent]


class Command:
    """Marker base of every command: an order, named in the imperative."""


@dataclass(frozen=True)
class CommandResult:
    aggregate_id: str | None
    recorded: tuple[RecordedEvent, ...]

    @property
    def position(self) -> int | None:
        return self.recorded[-1].position if self.recorded else None
