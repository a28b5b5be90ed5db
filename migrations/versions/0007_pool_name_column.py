"""The tasks table names the pool a task runs in `pool_name`, not `worker_id`: a worker is
a process that leases tasks, a pool is where they are placed. (The API keeps answering
`worker_id`, its v1 name.) The rows keep their values.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.alter_column("worker_id", new_column_name="pool_name", existing_type=sa.String(100))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.alter_column("pool_name", new_column_name="worker_id", existing_type=sa.String(100))
