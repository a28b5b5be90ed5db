"""The `tasks` read model: one row per task as the task endpoints return it, and
`task_counts` per (status, type, region) so totals never scan the tasks table."""

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Table, insert, select, update

from application.messages import RecordedEvent
from domain.events import (
    TaskCancelled,
    TaskCompleted,
    TaskDeferred,
    TaskFailed,
    TaskQueued,
    WorkerAssigned,
)
from domain.values import TaskStatus
from infrastructure.sql.projections.base import add_to
from infrastructure.sql.schema import task_counts, tasks
from infrastructure.sql.timestamps import iso


class TasksProjection:
    name = "tasks"
    tables: tuple[Table, ...] = (tasks, task_counts)

    def apply(self, connection: Connection, recorded: Sequence[RecordedEvent]) -> None:
        for item in recorded:
            match item.event:
                case TaskQueued() as queued:
                    self._queued(connection, item, queued)
                case WorkerAssigned() as assigned:
                    self._move(
                        connection,
                        item,
                        assigned.task_id,
                        TaskStatus.PROCESSING,
                        started_at=iso(assigned.assigned_at),
                        pool_id=assigned.pool_id,
                        worker_id=assigned.pool_name,
                        algorithm_used=str(assigned.decision.algorithm),
                        decision_summary=assigned.decision.summary,
                    )
                case TaskDeferred() as deferred:
                    connection.execute(
                        update(tasks)
                        .where(tasks.c.id == deferred.task_id)
                        .values(deferral_reason=deferred.decision.summary, position=item.position)
                    )
                case TaskCompleted() as completed:
                    self._move(
                        connection,
                        item,
                        completed.task_id,
                        TaskStatus.COMPLETED,
                        completed_at=iso(completed.completed_at),
                    )
                case TaskFailed() as failed:
                    self._move(
                        connection,
                        item,
                        failed.task_id,
                        TaskStatus.FAILED,
                        completed_at=iso(failed.failed_at),
                        error=failed.reason,
                    )
                case TaskCancelled() as cancelled:
                    self._move(
                        connection,
                        item,
                        cancelled.task_id,
                        TaskStatus.CANCELLED,
                        error=cancelled.reason,
                    )

    def _queued(self, connection: Connection, item: RecordedEvent, queued: TaskQueued) -> None:
        connection.execute(
            insert(tasks).values(
                id=queued.task_id,
                type=str(queued.type),
                priority=queued.priority,
                cost=queued.cost,
                region=queued.region,
                resource_type=None if queued.resource_type is None else str(queued.resource_type),
                status=str(TaskStatus.QUEUED),
                metadata=orjson.dumps(queued.metadata).decode(),
                enqueued_at=iso(queued.enqueued_at),
                correlation_id=item.metadata.correlation_id,
                queued_position=item.position,
                position=item.position,
            )
        )
        _count(connection, str(TaskStatus.QUEUED), str(queued.type), queued.region, 1)

    def _move(
        self,
        connection: Connection,
        item: RecordedEvent,
        task_id: str,
        status: TaskStatus,
        **values: Any,
    ) -> None:
        row = connection.execute(
            select(tasks.c.status, tasks.c.type, tasks.c.region).where(tasks.c.id == task_id)
        ).one()
        connection.execute(
            update(tasks)
            .where(tasks.c.id == task_id)
            .values(status=str(status), position=item.position, **values)
        )
        _count(connection, row.status, row.type, row.region, -1)
        _count(connection, str(status), row.type, row.region, 1)


def _count(connection: Connection, status: str, type: str, region: str, delta: int) -> None:
    add_to(
        connection,
        task_counts,
        {"status": status, "type": type, "region": region},
        "count",
        delta,
    )
