"""API keys with scopes, checked by a pure ASGI middleware from one table of routes.

A key is presented as `Authorization: Bearer <key>` or `X-API-Key: <key>`; only its
SHA-256 is configured (TASKROUTERX_API_KEYS, or a JSON file named by
TASKROUTERX_API_KEYS_FILE: `[{"name": ..., "sha256": ..., "scopes": [...]}]`), and no key
is ever logged. No key at all is 401, a key without the route's scope is 403, both as
problem details; a key over its rate limit (a token bucket per key) is 429 with
Retry-After. With no keys configured every request passes: the CLI then refuses to serve
on anything but a loopback address.
"""

import hashlib
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

from interfaces.http.problems import problem
from interfaces.http.rate_limit import RateLimiter


class Permission(StrEnum):
    TASKS_READ = "tasks:read"
    TASKS_WRITE = "tasks:write"
    TASKS_WORK = "tasks:work"
    """What a worker process does: lease tasks, heartbeat, report, release."""
    POOLS_ADMIN = "pools:admin"
    ADMIN = "admin"


READ, WRITE, WORK = Permission.TASKS_READ, Permission.TASKS_WRITE, Permission.TASKS_WORK
POOLS, ADMIN = Permission.POOLS_ADMIN, Permission.ADMIN

OPEN = None
"""No key needed: health probes, the API's own documentation, and the dashboard's static
files (the dashboard then calls the API with the key its user enters)."""

ROUTES: list[tuple[str, re.Pattern[str], Permission | None]] = [
    (method, re.compile(pattern), scope)
    for method, pattern, scope in [
        ("GET", r"/api/v1/(health|ready)", OPEN),
        ("GET", r"/metrics", READ),
        ("GET", r"/(docs|redoc|openapi\.json)(/.*)?", OPEN),
        ("GET", r"/|/dashboard/.*", OPEN),
        ("POST", r"/api/v1/tasks", WRITE),
        ("POST", r"/api/v1/tasks/[^/]+/(cancel|retry)", WRITE),
        ("POST", r"/api/v1/tasks/[^/]+/(complete|fail|heartbeat|release)", WORK),
        ("DELETE", r"/api/v1/tasks/[^/]+", WRITE),
        ("POST", r"/api/v1/workers/[^/]+/lease", WORK),
        ("POST", r"/api/v1/workers/[^/]+/(drain|resume)", POOLS),
        ("POST", r"/api/v1/workers", POOLS),
        ("PATCH", r"/api/v1/workers/[^/]+", POOLS),
        ("GET", r"/api/v1/audit/verify", ADMIN),
        ("GET", r"/api/v1/.*", READ),
        ("POST", r"/api/v1/algorithms/switch", ADMIN),
        ("POST", r"/api/v1/projections/[^/]+/rebuild", ADMIN),
        ("POST", r"/api/v1/replays", ADMIN),
        ("POST", r"/api/v1/simulate", ADMIN),
    ]
]
"""First match wins; a request matching no rule needs `admin`."""


def required_scope(method: str, path: str) -> Permission | None:
    verb = "GET" if method in ("GET", "HEAD") else method
    for rule_method, pattern, scope in ROUTES:
        if rule_method == verb and pattern.fullmatch(path):
            return scope
    return ADMIN


@dataclass(frozen=True)
class ApiKey:
    name: str
    scopes: frozenset[Permission]

    def allows(self, scope: Permission) -> bool:
        return scope in self.scopes or ADMIN in self.scopes


KEY_NAME = r"[A-Za-z0-9._-]{1,64}"
"""A key's name is recorded as the actor of what it does (`key:<name>`)."""


class InvalidKeyConfiguration(ValueError):
    pass


class KeyRing:
    def __init__(self, keys: dict[str, ApiKey]) -> None:
        self._by_hash = keys

    @property
    def empty(self) -> bool:
        return not self._by_hash

    def find(self, presented: str) -> ApiKey | None:
        return self._by_hash.get(digest(presented))

    @staticmethod
    def load(inline: str | None, file: Path | None) -> "KeyRing":
        entries: list[object] = []
        try:
            if inline:
                entries += json.loads(inline)
            if file is not None:
                entries += json.loads(file.read_text())
        except (OSError, ValueError, TypeError) as error:
            raise InvalidKeyConfiguration(f"API keys: {error}") from None
        keys: dict[str, ApiKey] = {}
        for entry in entries:
            if not isinstance(entry, dict) or not re.fullmatch(
                r"[0-9a-f]{64}", str(entry.get("sha256", ""))
            ):
                raise InvalidKeyConfiguration(
                    'API keys: each entry needs "name", "sha256" (64 hex digits) and "scopes"'
                )
            try:
                scopes = frozenset(Permission(scope) for scope in entry.get("scopes", []))
            except ValueError as error:
                raise InvalidKeyConfiguration(f"API keys: {error}") from None
            name = str(entry.get("name", "unnamed"))
            if not re.fullmatch(KEY_NAME, name):
                raise InvalidKeyConfiguration(
                    f"API keys: a name is 1 to 64 letters, digits, '.', '_' or '-', not {name!r}"
                )
            keys[entry["sha256"]] = ApiKey(name, scopes)
        return KeyRing(keys)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class AuthMiddleware:
    def __init__(self, app: ASGIApp, keys: KeyRing, limiter: RateLimiter | None = None) -> None:
        self.app = app
        self.keys = keys
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.keys.empty:
            await self.app(scope, receive, send)
            return
        needed = required_scope(scope["method"], scope["path"])
        if needed is None:
            await self.app(scope, receive, send)
            return
        presented = _presented_key(scope)
        key = self.keys.find(presented) if presented else None
        if key is None:
            detail = "an API key is required" if not presented else "unknown API key"
            response = problem(401, detail, "unauthorized")
            response.headers["WWW-Authenticate"] = 'Bearer realm="taskrouterx"'
            await response(scope, receive, send)
            return
        if not key.allows(needed):
            await problem(403, f"API key {key.name!r} lacks the scope {needed}", "forbidden")(
                scope, receive, send
            )
            return
        wait = self.limiter.wait(key.name) if self.limiter is not None else 0
        if wait:
            limited = problem(429, f"API key {key.name!r} is over its rate limit", "rate-limited")
            limited.headers["Retry-After"] = str(wait)
            await limited(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = key.name
        await self.app(scope, receive, send)


def _presented_key(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credentials.strip():
                return str(credentials.strip())
        elif name == b"x-api-key" and value.strip():
            return str(value.decode("latin-1").strip())
    return None
