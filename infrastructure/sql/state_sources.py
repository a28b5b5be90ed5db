"""Start-up state for the scheduler and the simulated workers, read from the projections
in one transaction, so it is exactly the state of the log at one position."""

from datetime import datetime

from sqlalchemy import Connection, Engine, or_, select

from application.restored_state import (
    RunningTask,
    RunningTasks,
    SchedulerState,
    TimedTask,
    TimekeeperState,
    WaitingTask,
)
from domain.scheduling import PoolSnapshot
from domain.values import Execution, ResourceType, TaskStatus
from infrastructure.sql import stored_events
from infrastructure.sql.projections.base import raw
from infrastructure.sql.projections.runner import read_checkpoints
from infrastructure.sql.queries import active_algorithm
from infrastructure.sql.schema import pool_load, tasks
from infrastructure.sql.timestamps import parse


class ProjectionsBehind(Exception):
    def __init__(self, behind: dict[str, int], head: int) -> None:
        super().__init__(f"projections {behind} are behind the log head {head}")


class SqlStateSource:
    def __init__(self, engine: Engine, needed: tuple[str, ...] = ("tasks", "pool_load")) -> None:
        self._engine = engine
        self._needed = needed

    def scheduler_state(self) -> SchedulerState:
        with self._engine.connect() as connection, connection.begin():
            position = self._current_position(connection)
            pools = [
                PoolSnapshot(
                    row.pool_id,
                    row.name,
                    row.region,
                    ResourceType(row.resource_type),
                    row.cost_per_unit,
                    row.capacity,
                    row.current_load,
                    row.registration,
                    bool(row.draining),
                )
                for row in connection.execute(select(pool_load).order_by(pool_load.c.registration))
            ]
            waiting = [
                WaitingTask(
                    row.id,
                    row.priority,
                    row.region,
                    None if row.resource_type is None else ResourceType(row.resource_type),
                    row.ready_position,
                    row.correlation_id,
                    deferred=row.deferral_reason is not None,
                )
                for row in connection.execute(
                    select(tasks)
                    .where(tasks.c.status == TaskStatus.QUEUED)
                    .order_by(tasks.c.ready_position)
                )
            ]
            algorithm = active_algorithm(connection)
        return SchedulerState(position, algorithm, pools, waiting)

    def running_tasks(self) -> RunningTasks:
        with self._engine.connect() as connection, connection.begin():
            position = self._current_position(connection)
            external = frozenset(
                connection.execute(
                    select(pool_load.c.pool_id).where(pool_load.c.execution == Execution.EXTERNAL)
                ).scalars()
            )
            running = [
                RunningTask(row.id, row.correlation_id, row.attempt)
                for row in connection.execute(
                    select(tasks.c.id, tasks.c.correlation_id, tasks.c.pool_id, tasks.c.attempt)
                    .where(tasks.c.status == TaskStatus.PROCESSING)
                    .order_by(tasks.c.queued_position)
                )
                if row.pool_id not in external
            ]
        return RunningTasks(position, running, external)

    def timekeeper_state(self) -> TimekeeperState:
        may_run = (TaskStatus.DELAYED, TaskStatus.QUEUED, TaskStatus.PROCESSING, TaskStatus.FAILED)
        query = select(
            tasks.c.id, tasks.c.status, tasks.c.correlation_id, tasks.c.ready_at,
            tasks.c.lease_expires_at, tasks.c.timeout_s, tasks.c.attempt, tasks.c.started_at,
        ).where(
            tasks.c.status.in_(may_run),
            or_(
                tasks.c.status == TaskStatus.DELAYED,
                tasks.c.lease_expires_at.is_not(None),
                tasks.c.timeout_s.is_not(None),
            ),
        )  # fmt: skip
        with self._engine.connect() as connection, connection.begin():
            position = self._current_position(connection)
            watched = [
                TimedTask(
                    row.id,
                    row.correlation_id,
                    _moment(row.ready_at),
                    _moment(row.lease_expires_at),
                    row.timeout_s,
                    row.attempt,
                    _moment(row.started_at) if row.status == TaskStatus.PROCESSING else None,
                )
                for row in connection.execute(query)
            ]
        return TimekeeperState(position, watched)

    def _current_position(self, connection: Connection) -> int:
        head = stored_events.head(raw(connection))
        checkpoints = read_checkpoints(raw(connection))
        behind = {
            name: checkpoints.get(name, 0)
            for name in self._needed
            if checkpoints.get(name, 0) != head
        }
        if behind:
            raise ProjectionsBehind(behind, head)
        return head


def _moment(text: str | None) -> datetime | None:
    return None if text is None else parse(text)
