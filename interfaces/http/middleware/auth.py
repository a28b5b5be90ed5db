"""API keys with scopes. Each route declares the scope it needs (`requires(...)`, or
`PUBLIC`), which the OpenAPI document shows; a pure ASGI middleware checks it before the
request reaches the app, from a table made of those declarations (a route declaring none
stops the app from being made).

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
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Security, params
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from domain.tenant import NAME as TENANT_NAME
from interfaces.http.middleware.rate_limit import RateLimiter
from interfaces.http.problems import problem


class Permission(StrEnum):
    TASKS_READ = "tasks:read"
    TASKS_WRITE = "tasks:write"
    TASKS_WORK = "tasks:work"
    """What a worker process does: lease tasks, heartbeat, report, release."""
    POOLS_ADMIN = "pools:admin"
    TENANTS_ADMIN = "tenants:admin"
    ADMIN = "admin"


READ, WRITE, WORK = Permission.TASKS_READ, Permission.TASKS_WRITE, Permission.TASKS_WORK
POOLS, TENANTS, ADMIN = Permission.POOLS_ADMIN, Permission.TENANTS_ADMIN, Permission.ADMIN

API_KEY = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="An API key, as `Authorization: Bearer <key>` or `X-API-Key: <key>`, with "
    "the scope the operation names (a key with `admin` has every scope). Without keys "
    "configured, every request passes.",
)


def requires(permission: Permission) -> Any:
    """A route's declaration of the scope a key needs for it (shown in the OpenAPI
    document as the operation's security requirement); `AuthMiddleware` enforces it
    before the request reaches the route."""
    return Security(API_KEY, scopes=[str(permission)])


def _public() -> None:
    """No key needed."""


PUBLIC = Depends(_public)
"""A route's declaration that it needs no key: health probes."""

OPEN_PATHS: list[tuple[str, re.Pattern[str], Permission | None]] = [
    ("GET", re.compile(r"/(docs|redoc|openapi\.json)(/.*)?"), None),
    ("GET", re.compile(r"/|/dashboard(/.*)?"), None),
]
"""Beside the API's routes: its own documentation and the dashboard's static files (the
dashboard then calls the API with the key its user enters)."""


class UndeclaredScope(Exception):
    def __init__(self, route: APIRoute) -> None:
        super().__init__(
            f"{sorted(route.methods or ())} {route.path} declares no scope: add "
            "dependencies=[requires(...)] or dependencies=[PUBLIC]"
        )


def declared_scope(route: APIRoute) -> Permission | None:
    """The scope a route declares (None: public); UndeclaredScope if it declares none."""
    for dependency in route.dependencies:
        if dependency.dependency is _public:
            return None
        if dependency.dependency is API_KEY and isinstance(dependency, params.Security):
            (scope,) = dependency.scopes or [""]
            return Permission(scope)
    raise UndeclaredScope(route)


@dataclass(frozen=True)
class AccessRules:
    """Which scope each request needs, from the routes' own declarations, in the order
    the app matches them; a request no route matches needs `admin`."""

    rules: tuple[tuple[frozenset[str], re.Pattern[str], Permission | None], ...]

    @staticmethod
    def of(routers: Iterable[APIRouter]) -> "AccessRules":
        rules = [(frozenset({method}), pattern, scope) for method, pattern, scope in OPEN_PATHS]
        for router in routers:
            for route in router.routes:
                if isinstance(route, APIRoute):
                    methods = frozenset(route.methods or ())
                    rules.append((methods, route.path_regex, declared_scope(route)))
        return AccessRules(tuple(rules))

    def required(self, method: str, path: str) -> Permission | None:
        verb = "GET" if method in ("GET", "HEAD") else method
        for methods, pattern, scope in self.rules:
            if verb in methods and pattern.fullmatch(path):
                return scope
        return ADMIN


@dataclass(frozen=True)
class ApiKey:
    name: str
    scopes: frozenset[Permission]
    tenant: str | None = None
    """The one tenant whose tasks this key submits and sees (None: any)."""

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
            tenant = entry.get("tenant")
            if tenant is not None and not (
                isinstance(tenant, str) and TENANT_NAME.fullmatch(tenant)
            ):
                raise InvalidKeyConfiguration(
                    f"API keys: key {name!r} is bound to {tenant!r}, which is no tenant's name "
                    "(1 to 63 lowercase letters, digits, '.', '_' or '-')"
                )
            keys[entry["sha256"]] = ApiKey(name, scopes, tenant)
        return KeyRing(keys)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class AuthMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        keys: KeyRing,
        rules: AccessRules,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.app = app
        self.keys = keys
        self.rules = rules
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.keys.empty:
            await self.app(scope, receive, send)
            return
        needed = self.rules.required(scope["method"], scope["path"])
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
        state = scope.setdefault("state", {})
        state["principal"] = key.name
        if key.tenant is not None:
            state["tenant"] = key.tenant
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
