"""Latency per second beside throughput per second, for the dashboard's chart over the last
minutes: `stats_throughput` gains how many tasks completed in each second and the sum of
their latencies.

Rows already projected do not say which of their finished tasks completed or how long they
took, so the stats projection is emptied and its checkpoint set back to 0: it is folded
again from the log, which holds every completion, when the service next starts (or by
`taskrouterx projections rebuild`).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stats_throughput") as batch:
        batch.add_column(
            sa.Column("completed", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("latency_sum_us", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.execute("DELETE FROM stats_throughput")
    op.execute("DELETE FROM stats_counters")
    op.execute("UPDATE checkpoints SET position = 0 WHERE name = 'stats'")


def downgrade() -> None:
    with op.batch_alter_table("stats_throughput") as batch:
        batch.drop_column("latency_sum_us")
        batch.drop_column("completed")
