"""When to send a request again: 429 and 503 answers, after the `Retry-After` they carry
(or a backoff when they carry none), within a bounded budget of attempts and waiting; and
a request safe to repeat (a read, or a command carrying an `Idempotency-Key`) whose answer
was lost on the way (a dropped connection), after the backoff."""

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
        return self._within(_retry_after(response) or self._backoff(attempt), waited)

    def wait_after_loss(self, attempt: int, waited: float) -> float | None:
        """Seconds to wait before sending a request safe to repeat again after its answer
        was lost; None: do not."""
        if attempt >= self.attempts:
            return None
        return self._within(self._backoff(attempt), waited)

    def _backoff(self, attempt: int) -> float:
        return float(self.backoff_s * 2 ** (attempt - 1))

    def _within(self, wait: float, waited: float) -> float | None:
        return None if waited + wait > self.max_wait_s else wait


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
        return self._counted(wait)

    def wait_after_loss(self, error: httpx.TransportError, repeatable: bool) -> float:
        """Seconds to wait before sending again after the answer was lost (`error`
        re-raised if the request is not `repeatable` or not to be sent again)."""
        wait = self._policy.wait_after_loss(self._attempt, self._waited) if repeatable else None
        if wait is None:
            raise error
        return self._counted(wait)

    def _counted(self, wait: float) -> float:
        self._attempt += 1
        self._waited += wait
        return wait
