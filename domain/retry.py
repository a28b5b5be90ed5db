"""How a task is retried: how many attempts it gets, and how long it waits between them."""

import math
from dataclasses import dataclass

from domain.errors import InvalidValue

MAX_ATTEMPTS = 100
MAX_BACKOFF_S = 86_400.0
MAX_TIMEOUT_S = 7 * 86_400.0


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    backoff_s: float = 1.0
    """The wait after the first failure; each further failure doubles it."""
    backoff_max_s: float = 300.0

    def check(self) -> None:
        if not 1 <= self.max_attempts <= MAX_ATTEMPTS:
            raise InvalidValue(
                f"max_attempts must be between 1 and {MAX_ATTEMPTS}, got {self.max_attempts}"
            )
        for name in ("backoff_s", "backoff_max_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0 <= value <= MAX_BACKOFF_S):
                raise InvalidValue(f"retry_{name} must be between 0 and {MAX_BACKOFF_S:g}")
        if self.backoff_max_s < self.backoff_s:
            raise InvalidValue(
                f"retry_backoff_max_s ({self.backoff_max_s:g}) must not be below "
                f"retry_backoff_s ({self.backoff_s:g})"
            )

    def gives_up_after(self, failures: int) -> bool:
        return failures >= self.max_attempts

    def backoff(self, failures: int, jitter: float) -> float:
        """Seconds to wait after the `failures`-th failure: exponential, capped, with
        "equal jitter" (`jitter` in [0, 1) picks a point in the upper half), so retries of
        tasks that failed together spread out, and each wait is still at least half the
        one before doubling."""
        full: float = min(self.backoff_max_s, self.backoff_s * 2.0 ** min(failures - 1, 60))
        return full / 2 + full / 2 * jitter


def check_timeout(timeout_s: float | None) -> None:
    if timeout_s is not None and not (math.isfinite(timeout_s) and 0 < timeout_s <= MAX_TIMEOUT_S):
        raise InvalidValue(f"timeout_s must be above 0 and at most {MAX_TIMEOUT_S:g}")
