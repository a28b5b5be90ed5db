"""Domain events to JSON payloads and back, upcasting stored payloads on the way in.

Decoding is compiled once per type from its annotations into a tree of small functions,
so reading the log costs a dictionary walk, not a type-introspection per field."""

import dataclasses
import functools
import types
import typing
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

import orjson

from application.views import iso_timestamp
from domain.events import EVENT_TYPES, DomainEvent, upcast

Decoder = Callable[[Any], Any]
T = TypeVar("T")


def encode(event: DomainEvent) -> str:
    """JSON text; every timestamp in fixed-width UTC ISO 8601 with microseconds, so the
    projections can store payload timestamps as they are."""
    return orjson.dumps(event, default=_timestamp, option=orjson.OPT_PASSTHROUGH_DATETIME).decode()


def encode_state(state: object) -> str:
    """An aggregate's state (a dataclass) as JSON text, in the events' forms (timestamps
    fixed-width UTC, enums as their values), so equal states encode alike."""
    return orjson.dumps(state, default=_timestamp, option=orjson.OPT_PASSTHROUGH_DATETIME).decode()


def decode_state(cls: type[T], text: str | bytes) -> T:
    """The state `encode_state` wrote for an instance of `cls`."""
    decode: Decoder = decoder_for(cls)  # type: ignore[arg-type]
    state = decode(orjson.loads(text))
    assert isinstance(state, cls)
    return state


def _timestamp(value: object) -> str:
    if isinstance(value, datetime):
        return iso_timestamp(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def decode(type_name: str, schema_version: int, payload: str | bytes) -> DomainEvent:
    cls = EVENT_TYPES[type_name]
    data = orjson.loads(payload)
    if schema_version != cls.schema_version:
        data = upcast(type_name, schema_version, data)
    event = _decoder_of_event(cls)(data)
    assert isinstance(event, DomainEvent)
    return event


def event_of(type_name: str, data: dict[str, Any]) -> DomainEvent:
    """The event from its payload as `stored_data` gave it (parsed and upcast already)."""
    event = _decoder_of_event(EVENT_TYPES[type_name])(data)
    assert isinstance(event, DomainEvent)
    return event


def stored_data(type_name: str, schema_version: int, payload: str | bytes) -> dict[str, Any]:
    """The payload as plain data at the type's current schema version (what the read
    models fold): upcast, not decoded into the event's class. KeyError for an unknown
    type or a missing field, ValueError for a payload that is not a JSON object."""
    data = orjson.loads(payload)
    current, fields = _stored_shape(type_name)
    if schema_version != current:
        data = upcast(type_name, schema_version, data)
    if not isinstance(data, dict):
        raise ValueError("the payload is not a JSON object")
    if not data.keys() >= fields:
        raise KeyError(min(fields - data.keys()))
    return data


@functools.cache
def _stored_shape(type_name: str) -> tuple[int, frozenset[str]]:
    """The type's current schema version and the fields its payload has."""
    cls = EVENT_TYPES[type_name]
    return cls.schema_version, frozenset(field.name for field in dataclasses.fields(cls))


def payload_dict(payload: str | bytes) -> dict[str, Any]:
    data = orjson.loads(payload)
    assert isinstance(data, dict)
    return data


def _decoder_of_event(cls: type[DomainEvent]) -> Decoder:
    decoder: Decoder = decoder_for(cls)  # type: ignore[arg-type]
    return decoder


def _identity(value: Any) -> Any:
    return value


@functools.cache
def decoder_for(tp: Any) -> Decoder:
    """A function turning the JSON form of `tp` back into a `tp`."""
    origin = typing.get_origin(tp)
    if tp is Any or tp in (str, int, bool):
        return _identity
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        decode_inner = decoder_for(options[0]) if len(options) == 1 else _one_of(options)
        return lambda value: None if value is None else decode_inner(value)
    if origin is tuple:
        items = typing.get_args(tp)
        if len(items) == 2 and items[1] is Ellipsis:
            decode_item = decoder_for(items[0])
            if decode_item is _identity:
                return tuple
            return lambda value: tuple(map(decode_item, value))
        decoders = [decoder_for(item) for item in items]
        return lambda value: tuple(
            [decode(item) for decode, item in zip(decoders, value, strict=True)]
        )
    if origin is not None and issubclass(origin, Mapping):
        return dict
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass_decoder(tp)
    if isinstance(tp, type) and issubclass(tp, Enum):
        members: Decoder = tp._value2member_map_.__getitem__
        return members
    if tp is datetime:
        return datetime.fromisoformat
    if tp is float:
        return float
    return _identity


def _one_of(members: list[Any]) -> Decoder:
    """A union of dataclasses: the value decodes as the first member whose every field it
    has (list the member with the most specific fields first)."""
    shapes = []
    for member in members:
        if not (isinstance(member, type) and dataclasses.is_dataclass(member)):
            raise TypeError(f"cannot decode a union with {member!r}")
        names = frozenset(field.name for field in dataclasses.fields(member))
        shapes.append((names, decoder_for(member)))

    def decode(value: dict[str, Any]) -> Any:
        for names, decoder in shapes:
            if names <= value.keys():
                return decoder(value)
        raise KeyError(f"none of {[m.__name__ for m in members]} has the fields {sorted(value)}")

    return decode


def _dataclass_decoder(cls: type) -> Decoder:
    """Fills the instance's fields directly: a frozen dataclass's __init__ assigns each
    field through object.__setattr__, which would cost more than the decoding itself."""
    hints = typing.get_type_hints(cls)
    fields = [(field.name, decoder_for(hints[field.name])) for field in dataclasses.fields(cls)]
    plain = [name for name, decoder in fields if decoder is _identity]
    converted = [(name, decoder) for name, decoder in fields if decoder is not _identity]

    new = object.__new__

    def build(data: dict[str, Any]) -> Any:
        instance: Any = new(cls)
        values = instance.__dict__
        for name in plain:
            values[name] = data[name]
        for name, decoder in converted:
            values[name] = decoder(data[name])
        return instance

    return build
