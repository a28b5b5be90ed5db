"""When to send a request again: 429 and 503 answers, after the `Retry-After` they carry
(or a backoff when they carry none), within a bounded budget of attempts and waiting."""

from dataclasses import dataclass

import httpx

from interfaces.client.errors import ProblemError

RETRIED = frozenset({429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    """Sends of one request at most (the first included)."""
    max_wait_s: float = 30.0
    """Seconds of waiting between sends at most, over all of one request's retries."""
    backoff_s: float = 0.5
    """The first wait when the answer says none (doubling after each)."""

    def wait(self, response: httpx.Response, attempt: int, waited: float) -> float | None:
        """Seconds to wait before sending again after `response` (the answer to send number
        `attempt`, after `waited` seconds of waiting so far); None: do not."""
        if response.status_code not in RETRIED or attempt >= self.attempts:
            return None
        wait = _retry_after(response) or self.backoff_s * 2 ** (attempt - 1)
        if waited + wait > self.max_wait_s:
            return None
        return wait


def _retry_after(response: httpx.Response) -> float | None:
    """The `Retry-After` header in seconds (the HTTP-date form is not sent by the server)."""
    value = response.headers.get("Retry-After", "").strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


class Attempts:
    """One request's sends so far, under a policy."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self._attempt = 1
        self._waited = 0.0

    def wait_after(self, response: httpx.Response) -> float:
        """Seconds to wait before sending again after a refusal; its ProblemError if the
        request is not to be sent again."""
        wait = self._policy.wait(response, self._attempt, self._waited)
        if wait is None:
            raise ProblemError.of(response)
        self._attempt += 1
        self._waited += wait
        return wait
