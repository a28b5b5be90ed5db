"""The `pool_load` read model: each pool's capacity and current load."""

from collections.abc import Sequence

from sqlalchemy import Connection, Table, insert, update

from application.messages import RecordedEvent
from domain.events import (
    PoolCapacityChanged,
    PoolSlotClaimed,
    PoolSlotReleased,
    WorkerPoolRegistered,
)
from infrastructure.sql.schema import pool_load


class PoolLoadProjection:
    name = "pool_load"
    tables: tuple[Table, ...] = (pool_load,)

    def apply(self, connection: Connection, recorded: Sequence[RecordedEvent]) -> None:
        for item in recorded:
            match item.event:
                case WorkerPoolRegistered() as registered:
                    connection.execute(
                        insert(pool_load).values(
                            pool_id=registered.pool_id,
                            name=registered.name,
                            region=registered.region,
                            resource_type=str(registered.resource_type),
                            cost_per_unit=registered.cost_per_unit,
                            capacity=registered.capacity,
                            current_load=0,
                            registration=item.position,
                        )
                    )
                case PoolCapacityChanged(pool_id=pool_id, capacity=capacity):
                    connection.execute(
                        update(pool_load)
                        .where(pool_load.c.pool_id == pool_id)
                        .values(capacity=capacity)
                    )
                case PoolSlotClaimed(pool_id=pool_id):
                    self._load(connection, pool_id, 1)
                case PoolSlotReleased(pool_id=pool_id):
                    self._load(connection, pool_id, -1)

    def _load(self, connection: Connection, pool_id: str, delta: int) -> None:
        connection.execute(
            update(pool_load)
            .where(pool_load.c.pool_id == pool_id)
            .values(current_load=pool_load.c.current_load + delta)
        )
