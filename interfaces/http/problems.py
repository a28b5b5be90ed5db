"""Every error as RFC 9457 problem details (application/problem+json), mapped once here."""

from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from application.errors import (
    ConcurrencyConflict,
    CorruptEvent,
    DecisionNotRebuilt,
    HistoryArchived,
    IdempotencyKeyReused,
    RebuildRunning,
    ServiceOverloaded,
    ServiceStopping,
    StoreUnavailable,
    UnknownProjection,
)
from application.simulation.traffic import TooManySimulations
from domain.errors import DomainError, Invalid, NotFound

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://taskrouterx.dev/problems/"


def problem(status: int, detail: str, kind: str | None = None, **extra: Any) -> JSONResponse:
    phrase = HTTPStatus(status).phrase
    body = {
        "type": TYPE_BASE + (kind or phrase.lower().replace(" ", "-")),
        "title": phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(jsonable_encoder(body), status_code=status, media_type=PROBLEM_JSON)


RETRY_AFTER_S = {503: 1, 429: 5}
"""Seconds a client should wait before retrying: the writer's backlog and a busy database
clear in about a second; a simulation run lasts longer."""


def _status_of(error: Exception) -> int:
    if isinstance(error, NotFound | UnknownProjection):
        return 404
    if isinstance(error, Invalid | IdempotencyKeyReused):
        return 422
    if isinstance(error, ServiceStopping | StoreUnavailable | ServiceOverloaded):
        return 503
    if isinstance(error, TooManySimulations):
        return 429
    return 409


def install(app: FastAPI) -> None:
    async def on_validation(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        errors = [
            {"location": list(item.get("loc", ())), "message": item.get("msg", "")}
            for item in error.errors()
        ]
        first = errors[0] if errors else {"location": [], "message": "invalid request"}
        where = ".".join(str(part) for part in first["location"])
        detail = f"{where}: {first['message']}" if where else str(first["message"])
        return problem(422, detail, "validation-error", errors=errors)

    async def on_http(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, HTTPException)
        if error.status_code == 400:  # a body FastAPI could not decode: invalid input
            return problem(422, f"body: {error.detail}", "validation-error")
        return problem(error.status_code, str(error.detail))

    async def on_known(request: Request, error: Exception) -> JSONResponse:
        status = _status_of(error)
        state = {
            name: getattr(error, name)
            for name in ("task_id", "current_status")
            if isinstance(getattr(error, name, None), str)
        }
        response = problem(status, str(error), type(error).__name__, **state)
        if status in RETRY_AFTER_S:
            response.headers["Retry-After"] = str(RETRY_AFTER_S[status])
        return response

    async def on_archived(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, HistoryArchived)
        return problem(410, str(error), "history-archived", log_start=error.start,
                       first_position=error.start + 1, segment=error.segment)  # fmt: skip

    async def on_corrupt(request: Request, error: Exception) -> JSONResponse:
        """The one 500 the API answers on purpose: the stored history is damaged."""
        assert isinstance(error, CorruptEvent)
        log.error("http.corrupt_history", path=request.url.path, position=error.position,
                  stream_id=error.stream_id, reason=error.reason)  # fmt: skip
        return problem(500, str(error), "corrupt-history", position=error.position,
                       stream_id=error.stream_id)  # fmt: skip

    async def on_unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("http.unhandled", path=request.url.path)
        return problem(500, "an unexpected error occurred; it has been logged")

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    for known in (
        DomainError,
        ConcurrencyConflict,
        IdempotencyKeyReused,
        UnknownProjection,
        ServiceStopping,
        StoreUnavailable,
        ServiceOverloaded,
        TooManySimulations,
        RebuildRunning,
        DecisionNotRebuilt,
    ):
        app.add_exception_handler(known, on_known)
    app.add_exception_handler(HistoryArchived, on_archived)
    app.add_exception_handler(CorruptEvent, on_corrupt)
    app.add_exception_handler(Exception, on_unexpected)
