"""The OpenAPI document declares every answer the API can give: each operation lists the
problem-details responses (application/problem+json, RFC 9457) next to its success, in
place of FastAPI's default 422 body."""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PROBLEM_JSON = "application/problem+json"
PROBLEMS = {
    "400": "The Host header names no host this server answers to",
    "401": "No API key, or an unknown one",
    "403": "The API key lacks the scope this operation needs, or a command came from an "
    "origin that is not allowed",
    "404": "Unknown id",
    "409": "The current state forbids the command",
    "410": "The history asked for was archived (type history-archived): names the hot log's "
    "start (log_start) and the archive segment that holds the position asked for",
    "413": "Request body too large",
    "415": "A command must declare Content-Type: application/json, also without a body",
    "422": "Invalid input; nothing was written",
    "429": "Rate limited or too many simulations; see Retry-After",
    "500": "The stored history is damaged (type corrupt-history): names the position",
    "503": "Database unavailable, writer backlog full or shutting down; see Retry-After",
}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
    "required": ["type", "title", "status", "detail"],
    "additionalProperties": True,
}


def install(app: FastAPI) -> None:
    def schema() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            document.setdefault("components", {}).setdefault("schemas", {})["Problem"] = (
                PROBLEM_SCHEMA
            )
            for operations in document.get("paths", {}).values():
                for operation in operations.values():
                    _declare_problems(operation)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = schema  # type: ignore[method-assign]


def _declare_problems(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    for status, description in PROBLEMS.items():
        responses[status] = {
            "description": description,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
