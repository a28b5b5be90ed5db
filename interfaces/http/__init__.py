"""The v1 REST API (FastAPI)."""
