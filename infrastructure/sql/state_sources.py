"""Start-up state for the scheduler and the simulated workers, read from the projections
in one transaction, so it is exactly the state of the log at one position."""

from datetime import datetime

from sqlalchemy import Engine

from application.read_models import pools as pool_rows
from application.read_models import tenants as tenant_rows
from application.restored_state import (
    HeldSlot,
    RunningTask,
    RunningTasks,
    SchedulerState,
    TimedTask,
    TimekeeperState,
    WaitingTask,
)
from domain.values import Execution, ResourceType, TaskStatus, epoch_us
from infrastructure.sql import stored_events
from infrastructure.sql.db import Db, mappings, reading, sql
from infrastructure.sql.projections.runner import read_checkpoints
from infrastructure.sql.queries import POOLS, TENANTS, active_algorithm
from infrastructure.sql.timestamps import parse

WAITING = sql(
    "SELECT id, priority, region, resource_type, ready_position, correlation_id, "
    "deferral_reason, tenant, preemptible FROM tasks WHERE status = ? ORDER BY ready_position"
)
HELD = sql(
    "SELECT t.id, t.tenant, p.resource_type, t.pool_id, t.priority, t.preemptible, "
    "t.started_at FROM tasks t JOIN pool_load p ON p.pool_id = t.pool_id WHERE t.status = ?"
)
EXTERNAL_POOLS = sql("SELECT pool_id FROM pool_load WHERE execution = ?")
RUNNING = sql(
    "SELECT id, correlation_id, pool_id, attempt FROM tasks WHERE status = ? "
    "ORDER BY queued_position"
)
TIMED = sql(
    "SELECT id, status, correlation_id, ready_at, lease_expires_at, timeout_s, attempt, "
    "started_at FROM tasks WHERE status IN (?, ?, ?, ?) AND (status = ? "
    "OR lease_expires_at IS NOT NULL OR timeout_s IS NOT NULL)"
)
MAY_RUN = (TaskStatus.DELAYED, TaskStatus.QUEUED, TaskStatus.PROCESSING, TaskStatus.FAILED)


class ProjectionsBehind(Exception):
    def __init__(self, behind: dict[str, int], head: int) -> None:
        super().__init__(f"projections {behind} are behind the log head {head}")


class SqlStateSource:
    def __init__(
        self, engine: Engine, needed: tuple[str, ...] = ("tasks", "pool_load", "tenants")
    ) -> None:
        self._engine = engine
        self._needed = needed

    def scheduler_state(self) -> SchedulerState:
        with reading(self._engine, transaction=True) as db:
            position = self._current_position(db)
            pools = [pool_rows.snapshot(row) for row in mappings(db.execute(POOLS))]
            waiting = [
                WaitingTask(
                    task_id,
                    priority,
                    region,
                    None if kind is None else ResourceType(kind),
                    ready_position,
                    correlation_id,
                    deferred=deferral_reason is not None,
                    tenant=tenant,
                    preemptible=bool(preemptible),
                )
                for (task_id, priority, region, kind, ready_position, correlation_id,
                     deferral_reason, tenant, preemptible)
                in db.execute(WAITING, (str(TaskStatus.QUEUED),))
            ]  # fmt: skip
            algorithm = active_algorithm(db)
            tenants = [tenant_rows.tenant_of(row) for row in mappings(db.execute(TENANTS))]
            held = [
                HeldSlot(
                    task_id, tenant, ResourceType(kind), pool_id, priority, bool(preemptible),
                    epoch_us(parse(started_at)) if started_at else 0,
                )
                for task_id, tenant, kind, pool_id, priority, preemptible, started_at
                in db.execute(HELD, (str(TaskStatus.PROCESSING),))
            ]  # fmt: skip
        return SchedulerState(position, algorithm, pools, waiting, tenants, held)

    def running_tasks(self) -> RunningTasks:
        with reading(self._engine, transaction=True) as db:
            position = self._current_position(db)
            external = frozenset(
                pool_id for (pool_id,) in db.execute(EXTERNAL_POOLS, (str(Execution.EXTERNAL),))
            )
            running = [
                RunningTask(task_id, correlation_id, attempt)
                for task_id, correlation_id, pool_id, attempt in db.execute(
                    RUNNING, (str(TaskStatus.PROCESSING),)
                )
                if pool_id not in external
            ]
        return RunningTasks(position, running, external)

    def timekeeper_state(self) -> TimekeeperState:
        with reading(self._engine, transaction=True) as db:
            position = self._current_position(db)
            rows = db.execute(TIMED, (*map(str, MAY_RUN), str(TaskStatus.DELAYED)))
            watched = [
                TimedTask(
                    task_id,
                    correlation_id,
                    _moment(ready_at),
                    _moment(lease_expires_at),
                    timeout_s,
                    attempt,
                    _moment(started_at) if status == TaskStatus.PROCESSING else None,
                )
                for (task_id, status, correlation_id, ready_at, lease_expires_at, timeout_s,
                     attempt, started_at) in rows
            ]  # fmt: skip
        return TimekeeperState(position, watched)

    def _current_position(self, db: Db) -> int:
        head = stored_events.head(db)
        checkpoints = read_checkpoints(db)
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
