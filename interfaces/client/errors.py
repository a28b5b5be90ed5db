"""The server's problem details (RFC 9457) as an exception."""

from typing import Any

import httpx


class ProblemError(Exception):
    """A request the server refused or could not answer: its problem details. `errors`
    lists each invalid field of a 422 (`location`, `message`)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        type: str = "about:blank",
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type
        self.errors = errors or []

    @property
    def lasting(self) -> bool:
        """A refusal that asking again will not change (a 4xx but 429): unlike a busy or
        unavailable service's."""
        return self.status < 500 and self.status != 429

    @classmethod
    def of(cls, response: httpx.Response) -> "ProblemError":
        """The problem a response carries (its body if it is problem details, else its
        status line and text)."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            text = response.text.strip()[:500] or response.reason_phrase
            return cls(response.status_code, response.reason_phrase, text)
        return cls(
            int(body.get("status", response.status_code)),
            str(body.get("title", response.reason_phrase)),
            str(body.get("detail", "")),
            str(body.get("type", "about:blank")),
            list(body.get("errors") or []),
        )
