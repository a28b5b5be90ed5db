"""The `as_of` query parameter: a log position, or an ISO 8601 time (UTC when it has no
offset) standing for the newest position recorded at or before it."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query

from application.ports import TimeTravel
from domain.errors import Invalid

AsOf = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        description="the state as it was at this log position or ISO 8601 time",
        examples=["1200", "2026-11-28T12:00:00Z"],
    ),
]


class InvalidTime(Invalid):
    pass


def position_of(history: TimeTravel, as_of: str) -> int:
    text = as_of.strip()
    if text.isascii() and text.isdigit() and len(text) <= 18:
        position = int(text)
        head = history.head()
        if position > head:
            raise InvalidTime(f"as_of position {position} is after the log head {head}")
        return position
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidTime(
            f"as_of must be a log position or an ISO 8601 time, not {as_of!r}"
        ) from None
    return history.position_at(utc(moment, "as_of"))


def utc(moment: datetime, name: str) -> datetime:
    """A time in UTC, taking one without an offset as UTC already."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise InvalidTime(f"{name} is outside the range of times this service handles") from None
