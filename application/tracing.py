"""Traces (OpenTelemetry, W3C trace context) as the application sees them: a `TraceParent`
names a span of a trace; the `Tracer` port opens spans. A command's context carries the
trace of the request that sent it (`MessageContext.trace`), recorded with its events, so the
scheduler's decision, a worker's lease and the completion can continue the submission's
trace. `NO_TRACING` is the tracer when tracing is off: it opens nothing and hands the
parent back, so every call costs one function call."""

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Protocol

import structlog

log = structlog.get_logger(__name__)

_HEADER = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")


@dataclass(frozen=True)
class TraceParent:
    """A span of a trace, by its W3C ids (lower-case hex)."""

    trace_id: str
    span_id: str
    sampled: bool = True

    def header(self) -> str:
        """As a `traceparent` header."""
        return f"00-{self.trace_id}-{self.span_id}-{'01' if self.sampled else '00'}"

    @staticmethod
    def parse(header: str | None) -> "TraceParent | None":
        """A `traceparent` header's span (None if absent or malformed, or all zeros)."""
        found = _HEADER.fullmatch((header or "").strip().lower())
        if found is None or set(found[1]) == {"0"} or set(found[2]) == {"0"}:
            return None
        return TraceParent(found[1], found[2], int(found[3], 16) & 1 == 1)


Attributes = Mapping[str, str | int | float | bool]


class Tracer(Protocol):
    @property
    def enabled(self) -> bool:
        """Whether spans are made at all (a caller may skip gathering a span's parent)."""
        ...

    def current(self) -> TraceParent | None:
        """The span the calling code runs in (an HTTP request's), if any."""
        ...

    def span(
        self, name: str, parent: TraceParent | None, attributes: Attributes
    ) -> AbstractContextManager[TraceParent | None]:
        """A span under `parent` (a root if None) while the block runs: its own ids."""
        ...


class NoTracing:
    """Tracing off: no span is opened, and the parent goes on as it is."""

    enabled = False

    def current(self) -> TraceParent | None:
        return None

    @contextmanager
    def span(
        self, name: str, parent: TraceParent | None, attributes: Attributes
    ) -> Iterator[TraceParent | None]:
        yield parent


NO_TRACING = NoTracing()


def parent_from(
    trace_of: Callable[[str], TraceParent | None], stream_id: str
) -> TraceParent | None:
    """The span to continue for a command about the stream (`trace_of` looks it up). A
    failed look is no reason to fail the command: it starts a trace of its own instead."""
    try:
        return trace_of(stream_id)
    except Exception as error:
        log.warning("tracing.parent_unknown", stream_id=stream_id, error=str(error))
        return None
