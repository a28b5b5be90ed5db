"""The hot log's start: the last position archived and removed, its chain hash and the
state a verification from there needs; and the archive segments that hold the removed
events.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "log_start",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("moved_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "archive_segments",
        sa.Column("first_position", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("hash_before", sa.String(64), nullable=False),
        sa.Column("hash_after", sa.String(64), nullable=False),
        sa.Column("file", sa.String(100), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("archive_segments")
    op.drop_table("log_start")
