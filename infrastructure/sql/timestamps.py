"""Timestamps as fixed-width ISO 8601 UTC text, so text order is time order."""

from datetime import datetime

from application.views import iso_timestamp

iso = iso_timestamp


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text)
