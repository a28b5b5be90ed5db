"""Client methods made of the request builders in `calls`: one definition of each call
(its parameters, its docstring, its request), sent by the sync and the async client."""

import functools
from collections.abc import Awaitable, Callable
from typing import Any, Generic, ParamSpec, Protocol, TypeVar

from interfaces.client.calls import Call

P = ParamSpec("P")
R = TypeVar("R")


class Runs(Protocol):
    def run(self, call: Call[Any]) -> Any: ...


class RunsLater(Protocol):
    async def run(self, call: Call[Any]) -> Any: ...


class Sends(Generic[P, R]):
    """A method of the sync client: the call built from the arguments, sent."""

    def __init__(self, build: Callable[P, Call[R]]) -> None:
        self._build = build

    def __get__(self, client: Runs, owner: type | None = None) -> Callable[P, R]:
        @functools.wraps(self._build)
        def send(*args: P.args, **kwargs: P.kwargs) -> R:
            result: R = client.run(self._build(*args, **kwargs))
            return result

        return send


class SendsLater(Generic[P, R]):
    """A method of the async client: the call built from the arguments, sent."""

    def __init__(self, build: Callable[P, Call[R]]) -> None:
        self._build = build

    def __get__(self, client: RunsLater, owner: type | None = None) -> Callable[P, Awaitable[R]]:
        @functools.wraps(self._build)
        async def send(*args: P.args, **kwargs: P.kwargs) -> R:
            result: R = await client.run(self._build(*args, **kwargs))
            return result

        return send
