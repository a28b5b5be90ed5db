"""Errors raised by the application layer (not domain rules)."""


class ConcurrencyConflict(Exception):
    """A stream moved on since it was read: nothing was written."""

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"stream {stream_id} is at version {actual}, the command expected {expected}"
        )
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class UnknownProjection(Exception):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"no projection named {name!r}; known: {', '.join(known)}")
        self.name = name


class ServiceStopping(Exception):
    """The command was not run because the service is shutting down."""


class RebuildRunning(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(f"projection {name} is already being rebuilt")


class StoreUnavailable(Exception):
    """The database could not be reached or stayed locked past the busy timeout."""


class OutcomeUnknown(StoreUnavailable):
    """The command reached the writer, which went away before answering: it may have been
    committed or not. Retried with the same Idempotency-Key, it is run once at most."""


class ServiceOverloaded(Exception):
    """Too many commands are waiting for the writer: refused now rather than queued."""


class IdempotencyKeyReused(Exception):
    """The Idempotency-Key was already used for a different request."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"Idempotency-Key {key!r} was already used for a different request; "
            "use a new key for a new request"
        )


class CorruptEvent(Exception):
    """A stored event cannot be read back (its time, payload or fields are not what was
    written): the fault is in the stored data, not in the request."""

    def __init__(self, position: int, stream_id: str, reason: str) -> None:
        super().__init__(
            f"the stored event at position {position} ({stream_id}) cannot be read: {reason}"
        )
        self.position = position
        self.stream_id = stream_id
        self.reason = reason


class DecisionNotRebuilt(Exception):
    """A recorded decision's inputs cannot be rebuilt from the log (they do not hash to
    its digest, or the log no longer reaches back to them): it cannot be explained."""

    def __init__(self, position: int, reason: str) -> None:
        super().__init__(f"the decision at position {position} cannot be explained: {reason}")
        self.position = position
        self.reason = reason


class HistoryArchived(Exception):
    """What was asked for lies before the hot log's start: those events were archived and
    removed (`start`: the last position removed; `segment`: the archive file that holds
    the position asked for, if known)."""

    def __init__(self, start: int, asked: int, segment: str | None = None) -> None:
        where = f" (in archive segment {segment})" if segment else ""
        super().__init__(
            f"position {asked} is archived{where}: the hot log starts at position {start + 1}"
        )
        self.start = start
        self.asked = asked
        self.segment = segment
