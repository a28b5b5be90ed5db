"""Alembic migrations: the only way the schema changes (batch mode on SQLite)."""
