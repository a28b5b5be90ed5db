"""The event as the read models fold it: its place in the log, its type and its payload
as stored (plain data: times as fixed-width ISO text, enums as their values)."""

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

Row = dict[str, Any]
"""A read model's row: column name to value."""


class Recorded(Protocol):
    @property
    def position(self) -> int: ...

    @property
    def type(self) -> str: ...

    @property
    def data(self) -> Mapping[str, Any]: ...

    @property
    def correlation_id(self) -> str: ...


class Add(int):
    """A change that adds to a column (a count, a load) rather than setting it: a
    projection adds it in SQL without reading the row, and sums of them over any part of
    the log are the column's change over that part (time travel)."""


def resolved(changes: Row, row: Row) -> Row:
    """`changes` as new values for `row`: each Add added to the column's value so far."""
    if Add not in map(type, changes.values()):  # the common case, checked at C speed
        return changes
    return {
        column: row[column] + value if isinstance(value, Add) else value
        for column, value in changes.items()
    }


def fold_stream(
    history: Iterable[Recorded],
    first: str,
    start: Callable[[Recorded], Row],
    fold: Callable[[Recorded, Row], Row],
) -> Row | None:
    """An entity's row from its stream: made by its `first` event, then folded (None
    before that event)."""
    row: Row | None = None
    for record in history:
        if record.type == first:
            row = start(record)
        elif row is not None:
            row.update(fold(record, row))
    return row


def changing(changes: Mapping[str, object], unchanged: object) -> frozenset[str]:
    """The event types whose entry in a read model's `changes` is not `unchanged`."""
    return frozenset(kind for kind, change in changes.items() if change is not unchanged)
