"""The envelope every stored event travels in, and the context a command runs under."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.events import DomainEvent


@dataclass(frozen=True)
class MessageContext:
    """Who asked, and in answer to what: copied into every event a command records."""

    correlation_id: str
    causation_id: str | None = None
    actor: str = "api"


@dataclass(frozen=True)
class EventMetadata:
    event_id: str
    correlation_id: str
    causation_id: str | None
    actor: str
    recorded_at: datetime


@dataclass(frozen=True)
class RecordedEvent:
    position: int
    stream_id: str
    version: int
    event: DomainEvent
    metadata: EventMetadata

    @property
    def type(self) -> str:
        return self.event.type_name()

    @property
    def schema_version(self) -> int:
        return self.event.schema_version

    def caused(self, actor: str) -> MessageContext:
        """The context of a command issued in reaction to this event."""
        return MessageContext(self.metadata.correlation_id, self.metadata.event_id, actor)


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
