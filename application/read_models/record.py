"""The event as the read models fold it: its place in the log, its type and its payload
as stored (plain data: times as fixed-width ISO text, enums as their values)."""

from collections.abc import Mapping
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
