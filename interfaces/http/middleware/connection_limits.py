"""Limits on what one connection may hold: uvicorn's httptools protocol with a cap on open
connections, on the size and count of a request's headers, and a deadline for them.

uvicorn (0.55) buffers a request's headers without limit, times out only idle keep-alive
connections, and its `limit_concurrency` answers 503 only once a request's headers are
complete, so connections that never finish their headers (slowloris) pile up until the
process runs out of file descriptors. This protocol, which `taskrouterx serve` gives
uvicorn, closes such connections instead:

- past `max_connections` open connections, a new one is answered 503 and closed at once;
- a request whose request line and headers pass `max_header_bytes`, or that sends more
  than `max_headers` header lines, is answered 431 and closed, having buffered at most
  the limit and one read;
- a connection that has not completed a request's headers `header_timeout_s` after it
  opened, or after that request's first byte, is answered 408 and closed;
- an idle keep-alive connection is closed after uvicorn's `timeout_keep_alive`.

Every refusal is a problem+json body with `Connection: close`. The server then shuts its
side and reads (and drops) what the client still sends for up to `LINGER_S`, so the client
reads the answer instead of a reset; at most `MAX_LINGERING` connections linger at once,
beyond which a refused connection is closed at once.
"""

import asyncio
import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from interfaces.http.problems import PROBLEM_JSON, TYPE_BASE

LINGER_S = 1.0
MAX_LINGERING = 256


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int
    max_header_bytes: int
    max_headers: int
    header_timeout_s: float
    keep_alive_s: int


class _HeadersTooLarge(Exception):
    """Raised from a parser callback: stops the parse; answered 431."""


def refusal(status: int, kind: str, detail: str) -> bytes:
    """A complete HTTP/1.1 response: the problem, and the connection closing."""
    body = json.dumps(
        {
            "type": TYPE_BASE + kind,
            "title": HTTPStatus(status).phrase,
            "status": status,
            "detail": detail,
        }
    ).encode()
    retry = b"retry-after: 1\r\n" if status == 503 else b""
    return (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n".encode()
        + f"content-type: {PROBLEM_JSON}\r\ncontent-length: {len(body)}\r\n".encode()
        + retry
        + b"connection: close\r\n\r\n"
        + body
    )


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """Bound to its limits by `limited_protocol`."""

    limits: ConnectionLimits
    lingering: set["LimitedHttpToolsProtocol"] = set()
    """Refused connections still draining what their client sends (shared by the
    connections of one server: `limited_protocol` gives each its own set)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._awaiting_headers = True
        self._header_bytes = 0
        self._header_lines = 0
        self._header_deadline: asyncio.TimerHandle | None = None
        self._refusal: bytes | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        limit = self.limits.max_connections
        if len(self.connections) > limit:
            self._refuse(
                503,
                "too-many-connections",
                f"the server holds its limit of {limit} open connections; retry shortly",
            )
            return
        self._start_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_deadline()
        self.lingering.discard(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None:
            return
        if self._awaiting_headers and self._header_deadline is None:
            self._start_header_deadline()  # the first byte of a request on a kept-alive connection
        super().data_received(data)
        if self._awaiting_headers and self._refusal is None and not self.transport.is_closing():
            self._header_bytes += len(data)
            if self._header_bytes > self.limits.max_header_bytes:
                self._refuse(431, "headers-too-large", self._too_large())

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_lines = 0

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_lines += 1
        if self._header_lines > self.limits.max_headers:
            raise _HeadersTooLarge
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        self._header_bytes = 0
        self._stop_header_deadline()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._awaiting_headers = True

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a parse error; a header limit raised it, answer 431."""
        if self._header_lines > self.limits.max_headers:
            self._refuse(431, "headers-too-large", self._too_large())
        else:
            super().send_400_response(msg)

    def _too_large(self) -> str:
        limits = self.limits
        return (
            f"a request's line and headers may take at most {limits.max_header_bytes} bytes "
            f"in at most {limits.max_headers} header lines"
        )

    def _start_header_deadline(self) -> None:
        self._stop_header_deadline()
        self._header_deadline = self.loop.call_later(
            self.limits.header_timeout_s, self._headers_late
        )

    def _stop_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_late(self) -> None:
        self._header_deadline = None
        if self._awaiting_headers and not self.transport.is_closing():
            seconds = self.limits.header_timeout_s
            self._refuse(
                408, "request-timeout", f"a request's headers must arrive within {seconds:g} s"
            )

    def _refuse(self, status: int, kind: str, detail: str) -> None:
        self._refusal = refusal(status, kind, detail)
        self._stop_header_deadline()
        self._unset_keepalive_if_required()
        transport = self.transport
        if transport.is_closing():
            return
        transport.write(self._refusal)
        if len(self.lingering) >= MAX_LINGERING or not transport.can_write_eof():
            transport.close()
            return
        transport.write_eof()
        self.lingering.add(self)
        self.loop.call_later(LINGER_S, transport.close)


def limited_protocol(limits: ConnectionLimits) -> type[LimitedHttpToolsProtocol]:
    """The protocol class uvicorn is given (`http=`), bound to these limits."""
    namespace = {"limits": limits, "lingering": set()}
    return type("LimitedHttpToolsProtocol", (LimitedHttpToolsProtocol,), namespace)
