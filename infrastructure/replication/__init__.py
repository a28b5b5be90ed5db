"""Several nodes on one PostgreSQL database: which node schedules (an advisory lock) and how
the others learn of new events (LISTEN/NOTIFY)."""
