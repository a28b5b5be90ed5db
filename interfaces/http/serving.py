"""Serving the API with uvicorn under the connection limits (`taskrouterx serve`), within
the process's file-descriptor budget."""

import functools
import resource
from collections.abc import Callable

from infrastructure.settings import Settings
from interfaces.http.middleware.connection_limits import (
    MAX_LINGERING,
    ConnectionLimits,
    limited_protocol,
)

FD_RESERVE = 256
"""Descriptors kept for everything but client connections: the database files and
connections (SQLite opens a file, its WAL and its shared memory per connection), the event
loop, logs, the listening socket."""


def limits_of(settings: Settings) -> ConnectionLimits:
    fields = ConnectionLimits.__dataclass_fields__
    return ConnectionLimits(**{name: getattr(settings, name) for name in fields})


DefaultLimitsProtocol = limited_protocol(limits_of(Settings.model_construct()))
"""The protocol with the default limits, for the bare ASGI factory: `uvicorn
interfaces.http.asgi:create --factory --http interfaces.http.serving:DefaultLimitsProtocol`."""


def descriptors_needed(max_connections: int) -> int:
    return max_connections + MAX_LINGERING + FD_RESERVE


def descriptor_budget(max_connections: int, say: Callable[[str], None]) -> int:
    """Raise the soft limit on open files as far as needed (and allowed); returns the
    connection limit that fits in it, lowered (and said so) if the hard limit is too low."""
    needed = descriptors_needed(max_connections)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        soft = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return max_connections
    fitting = soft - MAX_LINGERING - FD_RESERVE
    if fitting < 16:
        raise SystemExit(
            f"error: this process may open only {soft} files (ulimit -n); TaskRouterX needs "
            f"{descriptors_needed(16)} for even 16 connections"
        )
    say(
        f"note: serving at most {fitting} connections, not {max_connections}: this process "
        f"may open {soft} files (ulimit -n), and each connection takes one"
    )
    return fitting


def serve(settings: Settings, say: Callable[[str], None]) -> None:
    import uvicorn

    from interfaces.http.asgi import create

    fitting = descriptor_budget(settings.max_connections, say)
    limits = limits_of(settings.model_copy(update={"max_connections": fitting}))
    # as a factory: uvicorn calls it once its signal handlers are in place (see Closing)
    uvicorn.run(
        functools.partial(create, settings),
        factory=True,
        host=settings.host,
        port=settings.port,
        http=limited_protocol(limits),
        timeout_keep_alive=limits.keep_alive_s,
        log_level="warning",
    )
