"""What a command handler gets to work with: aggregates, the clock, ids, its context."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from application.aggregates import Aggregates, Change
from application.messages import MessageContext, RecordedEvent
from application.ports import Clock, IdGenerator


@dataclass(frozen=True)
class UnitOfWork:
    aggregates: Aggregates
    clock: Clock
    ids: IdGenerator
    context: MessageContext
    jitter: Callable[[], float]
    """A number in [0, 1) to spread retry backoffs: the event records what it gave."""

    def save(self, *changes: Change) -> Sequence[RecordedEvent]:
        return self.aggregates.save(changes, self.context)
