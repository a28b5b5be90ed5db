"""Runs the projections: inline in the command's transaction while a projection is
current, and in batches (catch-up, rebuild) while it is behind."""

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from sqlalchemy import Connection, Engine, delete, insert, select, update

from application.errors import UnknownProjection
from application.messages import RecordedEvent
from infrastructure.sql import log
from infrastructure.sql.projections.base import SqlProjection
from infrastructure.sql.schema import checkpoints

Progress = Callable[[int, int], None]
"""Called with (checkpoint, head) after every batch."""

T = TypeVar("T")


class Execute(Protocol):
    """Runs one write job: directly, or on the single writer in turn with commands."""

    def __call__(self, job: Callable[[], T]) -> T: ...


def _direct(job: Callable[[], T]) -> T:
    return job()


class ProjectionRunner:
    def __init__(
        self, projections: Sequence[SqlProjection], write_engine: Engine, batch_size: int = 2000
    ) -> None:
        self._projections = {projection.name: projection for projection in projections}
        self._write = write_engine
        self._batch_size = batch_size

    @property
    def names(self) -> list[str]:
        return list(self._projections)

    def apply_inline(
        self, connection: Connection, recorded: Sequence[RecordedEvent], head_before: int
    ) -> None:
        """Apply new events to every projection that is current; skip those catching up."""
        if not recorded:
            return
        positions = read_checkpoints(connection)
        for name, projection in self._projections.items():
            if positions.get(name, 0) == head_before:
                projection.apply(connection, recorded)
                save_checkpoint(connection, name, recorded[-1].position)

    def catch_up(
        self, name: str, progress: Progress | None = None, execute: Execute = _direct
    ) -> int:
        """Apply the events after the projection's checkpoint, one batch per transaction.

        `execute` runs each batch: directly, or on the single writer in turn with commands.
        """
        applied = 0
        while True:
            checkpoint, head, count = execute(lambda: self.apply_batch(name))
            applied += count
            if progress is not None:
                progress(checkpoint, head)
            if count == 0 or checkpoint >= head:
                return applied

    def apply_batch(self, name: str) -> tuple[int, int, int]:
        """One catch-up transaction; returns (checkpoint, head, events applied)."""
        projection = self._get(name)
        with self._write.begin() as connection:
            checkpoint = read_checkpoints(connection).get(name, 0)
            head = log.head(connection)
            batch = log.read_all(connection, checkpoint, self._batch_size)
            if batch:
                projection.apply(connection, batch)
                checkpoint = batch[-1].position
                save_checkpoint(connection, name, checkpoint)
        return checkpoint, head, len(batch)

    def rebuild(
        self, name: str, progress: Progress | None = None, execute: Execute = _direct
    ) -> int:
        """Empty the projection's tables and replay the whole log into them."""
        execute(lambda: self.reset(name))
        return self.catch_up(name, progress, execute)

    def reset(self, name: str) -> None:
        projection = self._get(name)
        with self._write.begin() as connection:
            for table in projection.tables:
                connection.execute(delete(table))
            save_checkpoint(connection, name, 0)

    def catch_up_all(self) -> int:
        return sum(self.catch_up(name) for name in self._projections)

    def _get(self, name: str) -> SqlProjection:
        if name not in self._projections:
            raise UnknownProjection(name, self.names)
        return self._projections[name]


def read_checkpoints(connection: Connection) -> dict[str, int]:
    rows = connection.execute(select(checkpoints.c.name, checkpoints.c.position))
    return {name: int(position) for name, position in rows}


def save_checkpoint(connection: Connection, name: str, position: int) -> None:
    result = connection.execute(
        update(checkpoints).where(checkpoints.c.name == name).values(position=position)
    )
    if result.rowcount == 0:
        connection.execute(insert(checkpoints).values(name=name, position=position))
