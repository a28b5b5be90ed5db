"""Tenants: every task belongs to one (`tasks.tenant`, `default` for the tasks before),
and may be preemptible; `task_counts` count per tenant too (recounted from the tasks); the
`tenants` read model holds each tenant's settings.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(
            sa.Column("tenant", sa.String(63), nullable=False, server_default="default")
        )
        batch.add_column(sa.Column("preemptible", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_tasks_tenant_queued_position", "tasks", ["tenant", "queued_position"])
    op.create_index("ix_tasks_tenant_status", "tasks", ["tenant", "status"])
    _recount(with_tenant=True)
    op.create_table(
        "tenants",
        sa.Column("name", sa.String(63), primary_key=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("quota_cpu", sa.Integer(), nullable=True),
        sa.Column("quota_gpu", sa.Integer(), nullable=True),
        sa.Column("borrowing_cpu", sa.Integer(), nullable=True),
        sa.Column("borrowing_gpu", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.String(40), nullable=True),
        sa.Column("changed_at", sa.String(40), nullable=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
    )
    # No tenant event exists before this revision: the new projection is current wherever
    # the tasks projection is (it need not read a log that may have been archived).
    op.execute(
        "INSERT INTO checkpoints (name, position) "
        "SELECT 'tenants', position FROM checkpoints WHERE name = 'tasks'"
    )


def _recount(with_tenant: bool) -> None:
    """`task_counts` again, keyed with or without the tenant, counted from the tasks."""
    op.drop_table("task_counts")
    keys = ["status", "type", "region"] + (["tenant"] if with_tenant else [])
    columns = [
        sa.Column("status", sa.String(20), primary_key=True),
        sa.Column("type", sa.String(20), primary_key=True),
        sa.Column("region", sa.String(64), primary_key=True),
    ]
    if with_tenant:
        columns.append(sa.Column("tenant", sa.String(63), primary_key=True))
    op.create_table("task_counts", *columns, sa.Column("count", sa.BigInteger(), nullable=False))
    listed = ", ".join(keys)
    op.execute(
        f"INSERT INTO task_counts ({listed}, count) "
        f"SELECT {listed}, COUNT(*) FROM tasks GROUP BY {listed}"
    )


def downgrade() -> None:
    op.execute("DELETE FROM checkpoints WHERE name = 'tenants'")
    op.drop_table("tenants")
    _recount(with_tenant=False)
    op.drop_index("ix_tasks_tenant_status", "tasks")
    op.drop_index("ix_tasks_tenant_queued_position", "tasks")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("preemptible")
        batch.drop_column("tenant")
