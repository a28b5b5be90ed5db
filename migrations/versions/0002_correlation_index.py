"""Index the log by correlation id: everything one request caused is one lookup.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_events_correlation_position", "events", ["correlation_id", "position"])


def downgrade() -> None:
    op.drop_index("ix_events_correlation_position", "events")
