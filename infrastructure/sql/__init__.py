"""SQL adapters over SQLAlchemy Core: SQLite by default, portable SQL throughout."""
