"""Who may drive the API from a browser. Without this, any web page the operator opens
could act on a local server (a cross-site form or `fetch` with a simple content type needs
no CORS preflight) and, by DNS rebinding, read it. So, for every request:

- the Host header must name this server (`allowed_hosts`: localhost names and the bound
  address by default; `*` allows any): otherwise 400, whatever the path (rebinding);
- a request that changes state (POST, PUT, PATCH, DELETE) with an `Origin` header must
  come from an allowed origin (the server's own, as the Host header names it, or one of
  `CORS_ORIGINS`): otherwise 403;
- a POST, PUT or PATCH must declare a JSON body (`Content-Type: application/json`), even
  one that sends no body: a browser sends that type cross-site only after a preflight
  that CORS refuses. Otherwise 415.

The same rules hold with API keys: a key in a browser's storage is no defence against a
page that makes the browser use it.
"""

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from interfaces.http.problems import problem

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
CHANGES_STATE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CARRIES_BODY = frozenset({"POST", "PUT", "PATCH"})


def allowed_hosts_for(bound: str, configured: Iterable[str] | None) -> frozenset[str]:
    """The names the Host header may carry: those configured, or the local names and
    the address the server binds (unless it binds every address)."""
    if configured is not None:
        return frozenset(name.lower().strip("[]") for name in configured)
    names = set(LOCAL_HOSTS)
    if bound not in ("0.0.0.0", "::", ""):
        names.add(bound.lower().strip("[]"))
    return frozenset(names)


def host_name(host: str) -> str:
    """The name in a Host header, without its port (IPv6 brackets removed)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class RequestGuardMiddleware:
    def __init__(
        self, app: ASGIApp, allowed_hosts: frozenset[str], allowed_origins: Iterable[str] = ()
    ) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts
        self.allowed_origins = frozenset(origin.rstrip("/").lower() for origin in allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name: value for name, value in scope["headers"] if name in _READ}
        host = headers.get(b"host", b"").decode("latin-1")
        refusal = self._refusal(scope["method"], host, headers)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _refusal(self, method: str, host: str, headers: dict[bytes, bytes]) -> JSONResponse | None:
        if "*" not in self.allowed_hosts and host_name(host) not in self.allowed_hosts:
            return problem(
                400,
                f"Host {host[:100]!r} is not one this server answers to; set "
                "TASKROUTERX_ALLOWED_HOSTS to the names clients use",
                "host-not-allowed",
            )
        if method not in CHANGES_STATE:
            return None
        origin = headers.get(b"origin")
        if origin is not None and not self._origin_allowed(origin.decode("latin-1"), host):
            return problem(
                403,
                "requests that change state are accepted only from this server's own pages "
                "and from CORS_ORIGINS",
                "origin-not-allowed",
            )
        if method in CARRIES_BODY and not is_json(
            headers.get(b"content-type", b"").decode("latin-1")
        ):
            return problem(
                415,
                "send the request with Content-Type: application/json (also when it has no body)",
                "unsupported-media-type",
            )
        return None

    def _origin_allowed(self, origin: str, host: str) -> bool:
        normalized = origin.strip().rstrip("/").lower()
        if normalized in self.allowed_origins:
            return True
        parts = urlsplit(normalized)
        return parts.scheme in ("http", "https") and parts.netloc == host.strip().lower()


_READ = frozenset({b"host", b"origin", b"content-type"})
