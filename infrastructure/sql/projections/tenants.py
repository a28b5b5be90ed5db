"""The `tenants` read model: each tenant's settings, as its latest event set them (see
`application.read_models.tenants`)."""

from collections.abc import Sequence

from application.read_models import tenants
from infrastructure.sql.db import Db, marks, sql
from infrastructure.sql.projections.base import EventRecord

SET = ("weight", "quota_cpu", "quota_gpu", "borrowing_cpu", "borrowing_gpu", "changed_at",
       "position")  # fmt: skip
COLUMNS = ("name", "created_at", *SET)
UPSERT = sql(
    f"INSERT INTO tenants ({', '.join(COLUMNS)}) VALUES ({marks(len(COLUMNS))}) "
    f"ON CONFLICT (name) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in SET)}"
)


class TenantsProjection:
    name = "tenants"
    tables: tuple[str, ...] = ("tenants",)

    def apply(self, db: Db, records: Sequence[EventRecord]) -> None:
        for record in records:
            if record.type in tenants.TYPES:
                row = {"created_at": None, **tenants.row_of(record)}
                db.execute(UPSERT, tuple(row[c] for c in COLUMNS))
