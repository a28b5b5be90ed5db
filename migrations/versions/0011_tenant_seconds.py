"""Each tenant's attempts started and ended per ten seconds (`tenant_seconds`), kept by the
tasks projection, for each tenant's running tasks over time. Filled from this revision on (a
rebuild of the tasks projection fills it from the log).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tenant_seconds",
        sa.Column("second", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("tenant", sa.String(63), primary_key=True),
        sa.Column("started", sa.BigInteger(), nullable=False),
        sa.Column("ended", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tenant_seconds")
