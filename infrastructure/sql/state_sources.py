"""Start-up state for the scheduler and the simulated workers, read from the projections
in one transaction, so it is exactly the state of the log at one position."""

from sqlalchemy import Connection, Engine, select

from application.snapshots import RunningTask, RunningTasks, SchedulerState, WaitingTask
from domain.scheduling import PoolSnapshot
from domain.values import ResourceType, TaskStatus
from infrastructure.sql import log
from infrastructure.sql.projections.base import raw
from infrastructure.sql.projections.runner import read_checkpoints
from infrastructure.sql.queries import active_algorithm
from infrastructure.sql.schema import pool_load, tasks


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
                )
                for row in connection.execute(select(pool_load).order_by(pool_load.c.registration))
            ]
            waiting = [
                WaitingTask(
                    row.id,
                    row.priority,
                    row.region,
                    None if row.resource_type is None else ResourceType(row.resource_type),
                    row.queued_position,
                    row.correlation_id,
                    deferred=row.deferral_reason is not None,
                )
                for row in connection.execute(
                    select(tasks)
                    .where(tasks.c.status == TaskStatus.QUEUED)
                    .order_by(tasks.c.queued_position)
                )
            ]
            algorithm = active_algorithm(connection)
        return SchedulerState(position, algorithm, pools, waiting)

    def running_tasks(self) -> RunningTasks:
        with self._engine.connect() as connection, connection.begin():
            position = self._current_position(connection)
            running = [
                RunningTask(row.id, row.correlation_id)
                for row in connection.execute(
                    select(tasks.c.id, tasks.c.correlation_id)
                    .where(tasks.c.status == TaskStatus.PROCESSING)
                    .order_by(tasks.c.queued_position)
                )
            ]
        return RunningTasks(position, running)

    def _current_position(self, connection: Connection) -> int:
        head = log.head(raw(connection))
        checkpoints = read_checkpoints(raw(connection))
        behind = {
            name: checkpoints.get(name, 0)
            for name in self._needed
            if checkpoints.get(name, 0) != head
        }
        if behind:
            raise ProjectionsBehind(behind, head)
        return head
