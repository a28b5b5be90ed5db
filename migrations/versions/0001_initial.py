"""The event log, projection checkpoints and the first read models.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("position", Position, primary_key=True, autoincrement=False),
        sa.Column("stream_id", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("correlation_id", sa.String(100), nullable=False),
        sa.Column("causation_id", sa.String(100), nullable=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("stream_id", "version", name="uq_events_stream_version"),
    )
    op.create_index("ix_events_type_position", "events", ["type", "position"])
    op.create_table(
        "checkpoints",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("resource_type", sa.String(10), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("metadata", sa.Text(), nullable=False),
        sa.Column("enqueued_at", sa.String(40), nullable=False),
        sa.Column("started_at", sa.String(40), nullable=True),
        sa.Column("completed_at", sa.String(40), nullable=True),
        sa.Column("pool_id", sa.String(36), nullable=True),
        sa.Column("worker_id", sa.String(100), nullable=True),
        sa.Column("algorithm_used", sa.String(20), nullable=True),
        sa.Column("decision_summary", sa.Text(), nullable=True),
        sa.Column("deferral_reason", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("correlation_id", sa.String(100), nullable=False),
        sa.Column("queued_position", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_tasks_queued_position", "tasks", ["queued_position"])
    op.create_index("ix_tasks_status_queued_position", "tasks", ["status", "queued_position"])
    op.create_index("ix_tasks_type_queued_position", "tasks", ["type", "queued_position"])
    op.create_index("ix_tasks_region_queued_position", "tasks", ["region", "queued_position"])
    op.create_table(
        "task_counts",
        sa.Column("status", sa.String(20), primary_key=True),
        sa.Column("type", sa.String(20), primary_key=True),
        sa.Column("region", sa.String(64), primary_key=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "pool_load",
        sa.Column("pool_id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("resource_type", sa.String(10), nullable=False),
        sa.Column("cost_per_unit", sa.Float(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("current_load", sa.Integer(), nullable=False),
        sa.Column("registration", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "stats_counters",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("value", sa.Float(), nullable=False),
    )
    op.create_table(
        "stats_throughput",
        sa.Column("second", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("finished", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "stats_throughput",
        "stats_counters",
        "pool_load",
        "task_counts",
        "tasks",
        "checkpoints",
        "events",
    ):
        op.drop_table(table)
