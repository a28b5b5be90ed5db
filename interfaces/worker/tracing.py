"""A task function's span, under the lease's (the `traceparent` the service hands out with
tracing on), so the function and its report are part of the task's trace. The span is made
with OpenTelemetry's API when the worker's process has a tracer provider set (the
application's own); the reports carry the `traceparent` of that span, or of the lease when
the process traces nothing, so the service's completion continues the trace either way.
OpenTelemetry is imported only for a task that has a trace."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from interfaces.client.calls import Call
from interfaces.client.methods import RunsLater
from interfaces.client.types import Task


def _ignore(error: BaseException) -> None:
    return None


@dataclass(frozen=True)
class Traced:
    traceparent: str | None
    """Sent with the attempt's heartbeats and reports."""
    failed: Callable[[BaseException], None] = field(default=_ignore)
    """Mark the span failed with the function's exception."""

    def sent(self, call: Call[Any]) -> Call[Any]:
        """`call` with the `traceparent` header (as it is, untraced)."""
        if self.traceparent is None:
            return call
        return replace(call, headers={**call.headers, "traceparent": self.traceparent})


@contextmanager
def function_span(
    traceparent: str | None, task: Task, worker_id: str, provider: Any = None
) -> Iterator[Traced]:
    """The span of the task's function while the block runs (current in its context, so
    the function's own spans nest under it), from `provider` (OpenTelemetry's
    TracerProvider; None: the process's)."""
    if traceparent is None:
        yield Traced(None)
        return
    try:
        from opentelemetry import trace
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
    except ImportError:  # no OpenTelemetry here: the reports continue the lease's span
        yield Traced(traceparent)
        return
    propagator = TraceContextTextMapPropagator()
    parent = propagator.extract({"traceparent": traceparent})
    tracer = trace.get_tracer("taskrouterx.worker", tracer_provider=provider)
    attributes: dict[str, str | int] = {
        "taskrouterx.task_id": task["id"], "taskrouterx.task_type": task["type"],
        "taskrouterx.attempt": task["attempt"], "taskrouterx.worker_id": worker_id,
    }  # fmt: skip
    with tracer.start_as_current_span(
        f"taskrouterx.task {task['type']}", context=parent, kind=trace.SpanKind.CONSUMER,
        attributes=attributes,
    ) as span:  # fmt: skip
        if not span.is_recording():  # no tracer provider in this process: the lease's span
            yield Traced(traceparent)
            return

        def failed(error: BaseException) -> None:
            span.record_exception(error)
            span.set_status(trace.Status(trace.StatusCode.ERROR, f"{type(error).__name__}"))

        carrier: dict[str, str] = {}
        propagator.inject(carrier)
        yield Traced(carrier.get("traceparent", traceparent), failed)


class TracedSends:
    """A client's `run` with the attempt's `traceparent` on every call."""

    def __init__(self, client: RunsLater, traced: Traced) -> None:
        self._client = client
        self._traced = traced

    async def run(self, call: Call[Any]) -> Any:
        return await self._client.run(self._traced.sent(call))
