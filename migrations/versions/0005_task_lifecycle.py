"""The task lifecycle: attempts, retries, delays, leases and cancellation on the tasks
read model; who runs a pool and whether it drains on the pool_load read model.

Rows already projected come from logs recorded before these events existed, so their new
columns follow exactly from the old ones: one attempt if the task was ever assigned, the
default of three attempts, queued (ready) at its submission, no delay, lease, timeout or
cancellation request; every pool simulated and none draining.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("attempt", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("max_attempts", sa.Integer(), nullable=False, server_default="3")
        )
        batch.add_column(sa.Column("timeout_s", sa.Float(), nullable=True))
        batch.add_column(sa.Column("ready_at", sa.String(40), nullable=True))
        batch.add_column(sa.Column("ready_position", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("leased_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", sa.String(40), nullable=True))
        batch.add_column(
            sa.Column("cancel_requested", sa.Integer(), nullable=False, server_default="0")
        )
        batch.create_index("ix_tasks_pool_status", ["pool_id", "status"])
    op.execute("UPDATE tasks SET attempt = 1 WHERE started_at IS NOT NULL")
    op.execute("UPDATE tasks SET ready_position = queued_position")
    with op.batch_alter_table("pool_load") as batch:
        batch.add_column(
            sa.Column("execution", sa.String(10), nullable=False, server_default="simulated")
        )
        batch.add_column(sa.Column("draining", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("pool_load") as batch:
        batch.drop_column("draining")
        batch.drop_column("execution")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_index("ix_tasks_pool_status")
        for column in (
            "cancel_requested", "lease_expires_at", "leased_by", "ready_position", "ready_at",
            "timeout_s", "max_attempts", "attempt",
        ):  # fmt: skip
            batch.drop_column(column)
