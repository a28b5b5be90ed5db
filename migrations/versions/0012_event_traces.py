"""The trace each event was recorded under (`event_traces`), with tracing on, for
GET /api/v1/events?trace_id=.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_traces",
        sa.Column(
            "position",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("trace_id", sa.String(32), nullable=False),
        sa.Column("span_id", sa.String(16), nullable=False),
    )
    op.create_index("ix_event_traces_trace_position", "event_traces", ["trace_id", "position"])


def downgrade() -> None:
    op.drop_index("ix_event_traces_trace_position", table_name="event_traces")
    op.drop_table("event_traces")
