"""Idempotency records in the `idempotency_keys` table, read and written on the event
store's open write transaction, so a key commits with the command it ran."""

from application.idempotency import Remembered, Response
from infrastructure.sql.db import sql
from infrastructure.sql.event_store import SqlEventStore
from infrastructure.sql.timestamps import iso, parse

FIND = sql("SELECT fingerprint, status, body, created_at FROM idempotency_keys WHERE key = ?")
REMEMBER = sql(
    "INSERT INTO idempotency_keys (key, fingerprint, status, body, created_at) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
    "fingerprint = excluded.fingerprint, status = excluded.status, "
    "body = excluded.body, created_at = excluded.created_at"
)


class SqlIdempotencyRecords:
    def __init__(self, store: SqlEventStore) -> None:
        self._store = store

    def find(self, key: str) -> Remembered | None:
        row = self._store.transaction_db().execute(FIND, (key,)).fetchone()
        if row is None:
            return None
        fingerprint, status, body, created_at = row
        return Remembered(fingerprint, Response(status, bytes(body)), parse(created_at))

    def remember(self, key: str, record: Remembered) -> None:
        self._store.transaction_db().execute(
            REMEMBER,
            (key, record.fingerprint, record.response.status, record.response.body,
             iso(record.at)),
        )  # fmt: skip
