"""Serves the dashboard: its page at `/` (`/dashboard` leads there) and its assets under
`/dashboard/`, revalidated on
every load so a new release is never mixed with a cached old module.

The page is written once, when the app is made: it lists every module for the browser to
fetch at once (`modulepreload`, instead of discovering them import by import) and carries
the choices its forms offer (the API's enumerations) inline, so the first load
asks the API for data only."""

import hashlib
import json
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from application.simulation.traffic import Distribution
from domain.values import Algorithm, ResourceType, TaskStatus, TaskType

STATIC = Path(__file__).parent / "static"
ASSETS = "/dashboard"
PRELOADS = "<!-- modulepreload -->"
CHOICES = "<!-- choices -->"


class Assets(StaticFiles):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def revalidated(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"cache-control", b"no-cache")]
            await send(message)

        await super().__call__(scope, receive, revalidated)


def choices() -> dict[str, list[str]]:
    """What the page's forms and filters offer: the values the API accepts."""
    return {
        "algorithms": list(Algorithm),
        "distributions": list(Distribution),
        "taskTypes": list(TaskType),
        "resourceTypes": list(ResourceType),
        "statuses": list(TaskStatus),
    }


def modules() -> list[str]:
    """Every module under js/, as the URLs the page imports them by."""
    return sorted(f"{ASSETS}/{p.relative_to(STATIC).as_posix()}" for p in STATIC.rglob("*.js"))


def page() -> bytes:
    template = (STATIC / "index.html").read_text()
    preloads = "\n  ".join(f'<link rel="modulepreload" href="{url}">' for url in modules())
    # inside <script>, "</" could end the element early; JSON allows "<\/" for it
    data = json.dumps(choices(), separators=(",", ":")).replace("</", "<\\/")
    for marker, value in ((PRELOADS, preloads), (CHOICES, data)):
        if template.count(marker) != 1:
            raise ValueError(f"index.html must hold {marker} once")
        template = template.replace(marker, value)
    return template.encode()


def install(app: FastAPI) -> None:
    """Mount the assets and serve the page; `/dashboard` and `/dashboard/` (where a user
    may look for it) lead to the page."""

    @app.get(ASSETS, include_in_schema=False)
    @app.get(f"{ASSETS}/", include_in_schema=False)
    def to_the_page() -> Response:
        return RedirectResponse("/", status_code=308)

    app.mount(ASSETS, Assets(directory=STATIC), name="dashboard")
    body = page()
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"Cache-Control": "no-cache", "ETag": etag}

    @app.get("/", include_in_schema=False)
    def dashboard(request: Request) -> Response:
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="text/html; charset=utf-8", headers=headers)
