"""How a task function tells the worker what became of its task, beyond returning (done)
or raising any other exception (failed: its type, message and traceback are the error)."""

import traceback

TRACEBACK_CHARS = 6000
"""Of a failure's traceback kept in its error (the innermost frames, nearest the raise)."""


class Failure(Exception):
    """The attempt failed with this reason, reported as it is (no traceback)."""


class Release(Exception):
    """Give the task back unfinished (not a failure): another attempt runs it."""


class Unrunnable(Exception):
    """This worker cannot run tasks at all (a missing program, device or credential): the
    task is given back, and the worker stops, naming the reason."""


class Stopped(Exception):
    """Raised by `Attempt.check()` once the attempt is to stop (a cancel request, a lost
    lease, the worker's shutdown): the worker releases the task, or reports nothing if
    the lease is lost."""


def failure_reason(error: BaseException) -> str:
    """A failed attempt's error: the exception's type and message, then the traceback cut
    to its last TRACEBACK_CHARS characters; a `Failure`'s message alone."""
    if isinstance(error, Failure):
        return str(error) or "failed"
    headline = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    trace = "".join(traceback.format_exception(error)).strip()
    if len(trace) > TRACEBACK_CHARS:
        trace = "…" + trace[-TRACEBACK_CHARS:]
    return f"{headline}\n\n{trace}"
