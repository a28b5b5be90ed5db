"""Every query parameter of this API takes one value, written in its declared type's own
form. A repeated one (`?type=a&type=b`) is refused as invalid input, where FastAPI would
silently keep the last; so is an integer written otherwise than in digits (`?after=0.0`,
which pydantic would read as 0)."""

import re
import types
import typing
from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError

INTEGER = re.compile(r"-?[0-9]+")


async def single_valued_query(request: Request) -> None:
    """An app-wide dependency (async: it runs on the event loop, not in the thread pool
    every request would then wait for): 422 naming the first parameter given twice, or an
    integer parameter not written as one."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    integers = _integer_parameters(dependant) if dependant is not None else frozenset()
    seen: set[str] = set()
    for name, value in request.query_params.multi_items():
        if name in seen:
            raise RequestValidationError(
                [{"loc": ("query", name), "msg": "give this parameter once", "type": "repeated"}]
            )
        if name in integers and not INTEGER.fullmatch(value):
            raise RequestValidationError(
                [{"loc": ("query", name), "msg": "write a whole number in digits",
                  "type": "int_parsing", "input": value}]
            )  # fmt: skip
        seen.add(name)


def _integer_parameters(dependant: Dependant) -> frozenset[str]:
    """The names of the integer query parameters of a route and its dependencies."""
    known = _KNOWN.get(id(dependant))
    if known is None:
        known = _KNOWN[id(dependant)] = _integers_of(dependant)
    return known


_KNOWN: dict[int, frozenset[str]] = {}
"""By route dependant (they live as long as the app)."""


def _integers_of(dependant: Dependant) -> frozenset[str]:
    names = {
        field.alias for field in dependant.query_params if _is_integer(field.field_info.annotation)
    }
    for inner in dependant.dependencies:
        names |= _integers_of(inner)
    return frozenset(names)


def _is_integer(annotation: Any) -> bool:
    if annotation is int:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_integer(arm) for arm in typing.get_args(annotation))
    return False
