"""Task and pool views folded straight from their streams, through the same folds as the
projections (`application.read_models`): used when a projection is behind the log (being
rebuilt), so a read never misses or misstates a committed write, and to answer a command
from the events it just recorded."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from application.messages import RecordedEvent
from application.read_models import pools, tasks, tenants


def iso_timestamp(moment: datetime) -> str:
    """Fixed-width ISO 8601 in UTC, so text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def task_view(history: Sequence[RecordedEvent]) -> dict[str, Any] | None:
    """The task as the tasks projection shows it, folded from its stream."""
    row = tasks.folded(history)
    return None if row is None else tasks.view(row)


def task_view_from(row: dict[str, Any], history: Sequence[RecordedEvent]) -> dict[str, Any]:
    """The task as the tasks projection shows it, from its row there and the events of its
    stream after the row's position (for a stream whose first events were archived)."""
    row = dict(row)
    for recorded in history:
        if recorded.position > row["position"]:
            row.update(tasks.fold(recorded, row))
    return tasks.view(row)


def pool_view(history: Sequence[RecordedEvent]) -> dict[str, Any] | None:
    """The pool as the pools projection shows it, folded from its stream."""
    row = pools.folded(history)
    return None if row is None else pools.view(row)


def tenant_view(history: Sequence[RecordedEvent]) -> dict[str, Any] | None:
    """The tenant as the tenants projection shows it, from its stream's latest event."""
    row: dict[str, Any] = {"created_at": None}
    for recorded in history:
        row.update(tenants.row_of(recorded))
    return tenants.view(row) if "name" in row else None
