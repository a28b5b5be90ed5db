"""Commands sent with an `Idempotency-Key` header: the first request runs and its response
is remembered with its events; a retry with the same key and body gets that response again
(marked `Idempotency-Replayed: true`) and writes nothing; the same key with another body
or on another endpoint is a 422. Without the header a command simply runs."""

import hashlib
import re
from dataclasses import dataclass

import orjson
from fastapi import Request
from fastapi.responses import Response as HttpResponse

from application.idempotency import Render, Response, Sources
from application.messages import Command, CommandResult
from domain.errors import Invalid
from interfaces.http.completions import wait_for
from interfaces.http.deps import context_of, send, service_of

HEADER = "Idempotency-Key"
KEY = re.compile(r"[\x21-\x7e]{1,200}")
"""Printable ASCII without spaces, at most 200 characters."""


class InvalidIdempotencyKey(Invalid):
    pass


async def execute(request: Request, command: Command, render: Render) -> HttpResponse:
    service, context = service_of(request), context_of(request)
    key = request.headers.get(HEADER)
    if key is None:
        result = await send(service.sender, command, context)
        return _http(render(result, service.read_model))
    if not KEY.fullmatch(key):
        raise InvalidIdempotencyKey(
            f"{HEADER} must be 1 to 200 printable ASCII characters without spaces"
        )
    principal = getattr(request.state, "principal", None)
    if principal is not None:
        key = f"{principal}/{key}"  # each API key has its own key space
    request_line = f"{request.method} {request.url.path}\n".encode()
    fingerprint = hashlib.sha256(request_line + await request.body()).hexdigest()
    outcome = await wait_for(
        service.idempotent.submit_once(key, fingerprint, command, context, render)
    )
    response = _http(outcome.response)
    if outcome.replayed:
        response.headers["Idempotency-Replayed"] = "true"
    return response


def json_body(status: int, body: object) -> Response:
    return Response(status, orjson.dumps(body))


@dataclass(frozen=True)
class Answer:
    """Renders the same response whatever the result."""

    response: Response

    def __call__(self, result: CommandResult, sources: Sources) -> Response:
        return self.response


def _http(response: Response) -> HttpResponse:
    return HttpResponse(response.body, response.status, media_type="application/json")
