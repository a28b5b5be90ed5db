"""Server-Sent Events as the client reads them: the frames of `/api/v1/events/stream`."""

import json
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple


class StreamedEvent(NamedTuple):
    position: int
    type: str
    event: dict[str, Any]
    """The event as the log's pages show it (`stream_id`, `payload`, `metadata`, ...)."""


class Frames:
    """Reads an SSE body line by line: `feed` gives what a line completes (an event at the
    blank line that ends its frame, None for a keep-alive ping)."""

    def __init__(self) -> None:
        self._id: int | None = None
        self._type: str | None = None
        self._data: str | None = None

    def feed(self, line: str) -> list[StreamedEvent | None]:
        if line.startswith(":"):
            return [None]
        if line:
            field, _, value = line.partition(": ")
            if field == "id":
                self._id = int(value)
            elif field == "event":
                self._type = value
            elif field == "data":
                self._data = value
            return []
        done = (self._id, self._type, self._data)
        self._id, self._type, self._data = None, None, None
        position, kind, data = done
        if position is None or kind is None or data is None:
            return []
        return [StreamedEvent(position, kind, json.loads(data))]


def streamed(lines: Iterable[str]) -> Iterator[StreamedEvent | None]:
    """Each event of an SSE body, and None for each keep-alive ping."""
    frames = Frames()
    for line in lines:
        yield from frames.feed(line)
