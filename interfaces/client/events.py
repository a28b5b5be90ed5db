"""Server-Sent Events as the client reads them: the frames of `/api/v1/events/stream`."""

from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import orjson


class StreamedEvent(NamedTuple):
    position: int
    type: str
    event: dict[str, Any]
    """The event as the log's pages show it (`stream_id`, `payload`, `metadata`, ...)."""


def streamed(lines: Iterable[str]) -> Iterator[StreamedEvent | None]:
    """Each event of an SSE body, and None for each keep-alive ping."""
    position, kind, data = None, None, None
    for line in lines:
        if line == "":
            if position is not None and kind is not None and data is not None:
                yield StreamedEvent(position, kind, orjson.loads(data))
            position, kind, data = None, None, None
        elif line.startswith(":"):
            yield None
        else:
            field, _, value = line.partition(": ")
            if field == "id":
                position = int(value)
            elif field == "event":
                kind = value
            elif field == "data":
                data = value
