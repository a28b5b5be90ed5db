"""The `tasks` read model: one row per task as the task endpoints return it,
`task_counts` per (status, type, region, tenant) so totals never scan the tasks table, and
`tenant_seconds`: per ten seconds and tenant, the attempts that started and ended (each
event that moves a task into or out of processing, by the time it was recorded).

A batch folds each task's events through the task row's fold (`application.read_models.
tasks`: the task's current status and attempt are read once per batch), writes one update
per task, and moves the counts by each task's status before and after the batch."""

import itertools
import operator
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import orjson

from application.read_models import tasks
from application.read_models import tenants as tenant_rows
from application.read_models.record import Row, resolved
from domain.task import status_move
from domain.values import TaskStatus
from infrastructure.sql.db import Db, insert_into, insert_many, select_by_keys, sql, update_many
from infrastructure.sql.projections.base import Deltas, EventRecord, upsert
from infrastructure.sql.projections.runner import record_of

COLUMNS = (
    "id", "type", "priority", "cost", "region", "resource_type", "status", "metadata",
    "enqueued_at", "started_at", "completed_at", "pool_id", "pool_name", "algorithm_used",
    "decision_summary", "deferral_reason", "error", "correlation_id", "queued_position",
    "position", "attempt", "max_attempts", "timeout_s", "ready_at", "ready_position",
    "leased_by", "lease_expires_at", "cancel_requested", "tenant", "preemptible",
)  # fmt: skip
INSERT = insert_into("tasks", COLUMNS)
COUNTS = upsert("task_counts", ("status", "type", "region", "tenant"), "count")
FLOWS = upsert("tenant_seconds", ("second", "tenant"), "started", "ended")
PROCESSING = TaskStatus.PROCESSING
NO_ZERO_COUNTS = sql("DELETE FROM task_counts WHERE count = 0")


class TasksProjection:
    name = "tasks"
    tables: tuple[str, ...] = ("tasks", "task_counts", "tenant_seconds")

    def apply(self, db: Db, records: Sequence[EventRecord]) -> None:
        created: dict[str, Row] = {}
        changed: dict[str, Row] = {}
        flows = Deltas()
        before = _current(db, records)
        for record in records:
            if record.type not in tasks.TYPES:
                continue
            if record.type == "TaskQueued":
                created[record.data["task_id"]] = tasks.start(record)
                continue
            task_id = record.data["task_id"]
            row = created.get(task_id) or changed.get(task_id) or before[task_id]
            _flow(flows, record, row["status"], row["tenant"])
            columns = tasks.changes(record)
            if not columns:
                continue
            if task_id in created:
                target = created[task_id]
            else:
                target = changed.setdefault(task_id, dict(before[task_id]))
            target.update(resolved(columns, target))
        flows.upsert(db, FLOWS)
        counts = Deltas()
        if created:
            insert_many(db, "tasks", COLUMNS, [_stored(row) for row in created.values()])
            for row in created.values():
                counts.add((row["status"], row["type"], row["region"], row["tenant"]), 1)
        by_columns: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for task_id, row in changed.items():
            old = before[task_id]
            names = tuple(sorted(c for c in row if c not in KEPT or row[c] != old[c]))
            by_columns.setdefault(names, []).append((*(row[c] for c in names), task_id))
            if row["status"] != old["status"]:
                counts.add((old["status"], old["type"], old["region"], old["tenant"]), -1)
                counts.add((row["status"], old["type"], old["region"], old["tenant"]), 1)
        for names, rows in by_columns.items():
            update_many(db, "tasks", names, "id", rows)
        counts.upsert(db, COUNTS)
        db.execute(NO_ZERO_COUNTS)


def _flow(flows: Deltas, record: EventRecord, status: str, tenant: str) -> None:
    """An attempt started or ended by `record` (on a task in `status`), at its second."""
    moved = status_move(record.type, record.data)
    if moved is None:
        return
    after = moved[1]
    if (status == PROCESSING) == (after is PROCESSING):
        return
    moment = int(datetime.fromisoformat(record.recorded_at).timestamp())
    second = moment - moment % tenant_rows.STEP_S
    if after is PROCESSING:
        flows.add((second, tenant), 1, 0)
    else:
        flows.add((second, tenant), 0, 1)


CURRENT_COLUMNS = ("status", "type", "region", "tenant", "attempt")
KEPT = frozenset(CURRENT_COLUMNS)
"""Columns read before the batch: written back only when the batch changed them."""


def _current(db: Db, records: Sequence[EventRecord]) -> dict[str, Row]:
    """The KEPT columns of every task the records change and did not create, read in
    as few statements as the ids allow (one per task was a round trip each)."""
    queued = {r.data["task_id"] for r in records if r.type == "TaskQueued"}
    wanted = sorted(
        {r.data["task_id"] for r in records if r.type in tasks.TYPES and r.type != "TaskQueued"}
        - queued
    )
    return {
        task_id: dict(zip(CURRENT_COLUMNS, values, strict=True))
        for task_id, *values in select_by_keys(db, "tasks", CURRENT_COLUMNS, "id", wanted)
    }


def _stored(row: Row) -> list[Any]:
    """A new row's values in COLUMNS order, its metadata as JSON text."""
    values = list(_IN_ORDER(row))
    values[_METADATA] = orjson.dumps(values[_METADATA]).decode()
    return values


_IN_ORDER = operator.itemgetter(*COLUMNS)
_METADATA = COLUMNS.index("metadata")


STREAMS_AT = sql(
    "SELECT e.position, e.stream_id, e.type, e.schema_version, e.payload, e.correlation_id, "
    "e.recorded_at, e.version FROM events q JOIN events e ON e.stream_id = q.stream_id "
    "WHERE q.type = 'TaskQueued' AND q.position <= :head AND e.position <= :head "
    "ORDER BY q.position, e.version"
)


def task_rows_at(db: Db, head: int) -> Iterator[Row]:
    """Every task queued by position `head`, as it stood there: each task's stream folded
    in turn (one task in memory at a time), in the order they were queued."""
    records = map(record_of, db.execute(STREAMS_AT, {"head": head}))
    for _, stream in itertools.groupby(records, key=operator.attrgetter("stream_id")):
        row = tasks.folded(stream)
        if row is not None:
            yield row
