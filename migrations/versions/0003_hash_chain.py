"""Tamper evidence: a hash chain over the log (see infrastructure/sql/chain.py). Events
already stored are chained in position order here, then the column becomes required.

The hash is this migration's own frozen copy of the chain's definition as of this revision
(a migration never imports live code, which may change after it; a test holds the two
equal while they are meant to be).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

import hashlib
from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 10_000
GENESIS = "0" * 64
ROW = (
    "position, stream_id, version, type, schema_version, payload, event_id, "
    "correlation_id, causation_id, actor, recorded_at"
)


def link(previous: str, row: Sequence[Any]) -> str:
    """SHA-256 of the previous hash and the row's eleven values as a JSON array."""
    return hashlib.sha256(previous.encode() + orjson.dumps(list(row))).hexdigest()


def upgrade() -> None:
    op.add_column("events", sa.Column("hash", sa.String(64), nullable=True))
    connection = op.get_bind()
    previous, after = GENESIS, 0
    while rows := connection.execute(
        sa.text(f"SELECT {ROW} FROM events WHERE position > :after ORDER BY position LIMIT :n"),
        {"after": after, "n": CHUNK},
    ).all():
        updates = []
        for row in rows:
            previous = link(previous, tuple(row))
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
