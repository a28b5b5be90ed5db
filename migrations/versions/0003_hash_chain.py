"""Tamper evidence: a hash chain over the log (see infrastructure/sql/chain.py). Events
already stored are chained in position order here, then the column becomes required.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from infrastructure.sql import chain

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 10_000


def upgrade() -> None:
    op.add_column("events", sa.Column("hash", sa.String(64), nullable=True))
    connection = op.get_bind()
    previous, after = chain.GENESIS, 0
    while rows := connection.execute(
        sa.text(
            f"SELECT {chain.ROW} FROM events WHERE position > :after ORDER BY position LIMIT :n"
        ),
        {"after": after, "n": CHUNK},
    ).all():
        updates = []
        for row in rows:
            previous = chain.link(previous, tuple(row))
            updates.append({"hash": previous, "position": row[0]})
        connection.execute(
            sa.text("UPDATE events SET hash = :hash WHERE position = :position"), updates
        )
        after = rows[-1][0]
    with op.batch_alter_table("events") as batch:
        batch.alter_column("hash", existing_type=sa.String(64), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("hash")
