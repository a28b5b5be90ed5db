"""Domain events to JSON payloads and back, upcasting stored payloads on the way in."""

import dataclasses
import functools
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any

import orjson

from application.views import iso_timestamp
from domain.events import EVENT_TYPES, DomainEvent, upcast


def encode(event: DomainEvent) -> str:
    """JSON text; every timestamp in fixed-width UTC ISO 8601 with microseconds, so the
    projections can store payload timestamps as they are."""
    return orjson.dumps(event, default=_timestamp, option=orjson.OPT_PASSTHROUGH_DATETIME).decode()


def _timestamp(value: object) -> str:
    if isinstance(value, datetime):
        return iso_timestamp(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def decode(type_name: str, schema_version: int, payload: str | bytes) -> DomainEvent:
    cls = EVENT_TYPES[type_name]
    data = upcast(type_name, schema_version, orjson.loads(payload))
    event = _build(cls, data)
    assert isinstance(event, DomainEvent)
    return event


def payload_dict(payload: str | bytes) -> dict[str, Any]:
    data = orjson.loads(payload)
    assert isinstance(data, dict)
    return data


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _build(tp: Any, data: Any) -> Any:
    if tp is Any:
        return data
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if data is None:
            return None
        (inner,) = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        return _build(inner, data)
    if origin is tuple:
        inner = typing.get_args(tp)[0]
        return tuple(_build(inner, item) for item in data)
    if origin is not None and issubclass(origin, Mapping):
        return dict(data)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        return tp(**{f.name: _build(hints[f.name], data[f.name]) for f in dataclasses.fields(tp)})
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(data)
    if tp is datetime:
        return datetime.fromisoformat(data)
    if tp is float:
        return float(data)
    return data
