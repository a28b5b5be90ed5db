"""OpenTelemetry tracing (the `Tracer` port), on when `OTEL_TRACES_EXPORTER` names an
exporter (`otlp`: OTLP over HTTP, configured by the SDK's own `OTEL_EXPORTER_OTLP_*`
variables; `console`: spans printed on stdout), off by default. Off, neither the SDK nor
an instrumentation is imported and the tracer is `NO_TRACING`. On, every HTTP request is a span
(FastAPI's instrumentation: a `traceparent` header from the client makes it a child of the
client's span), and the scheduler's decisions and the leases are spans under the trace of
the task's submission."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import structlog

from application.tracing import NO_TRACING, Attributes, TraceParent, Tracer

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

log = structlog.get_logger(__name__)

EXPORTERS = ("none", "otlp", "console")
NOT_TRACED = "api/v1/health,api/v1/ready,metrics,api/v1/events/stream"
"""Requests that are no span: probes, scrapes, and event streams (open for hours)."""


class OpenTelemetryTracer:
    """Spans through an OpenTelemetry tracer provider."""

    enabled = True

    def __init__(self, provider: "TracerProvider") -> None:
        from opentelemetry import trace

        self.provider = provider
        self._trace = trace
        self._tracer = provider.get_tracer("taskrouterx")

    def current(self) -> TraceParent | None:
        return _parent_of(self._trace.get_current_span())

    @contextmanager
    def span(
        self, name: str, parent: TraceParent | None, attributes: Attributes
    ) -> Iterator[TraceParent | None]:
        context = None if parent is None else _context_of(parent)
        with self._tracer.start_as_current_span(
            name, context=context, attributes=dict(attributes)
        ) as span:
            yield _parent_of(span)


def tracer_for(exporters: str, disabled: bool, service_name: str) -> Tracer:
    """The tracer OTEL_TRACES_EXPORTER (`exporters`) and OTEL_SDK_DISABLED ask for:
    NO_TRACING unless an exporter this server has is named."""
    exporter = exporter_named(exporters)
    if disabled or exporter == "none":
        return NO_TRACING
    return OpenTelemetryTracer(provider_for(_exporter(exporter), service_name))


def exporter_named(exporters: str) -> str:
    """The first exporter of a comma-separated list that this server has (`none` if
    none); other names are ignored, with a warning (a typo must not stop the server)."""
    names = [name.strip().lower() for name in exporters.split(",") if name.strip()]
    unknown = [name for name in names if name not in EXPORTERS]
    if unknown:
        log.warning("tracing.unknown_exporters", ignored=unknown, known=list(EXPORTERS))
    return next((name for name in names if name in EXPORTERS and name != "none"), "none")


def provider_for(
    exporter: "SpanExporter", service_name: str, batch: bool = True
) -> "TracerProvider":
    """A tracer provider sending its spans to `exporter` (in batches, or one by one)."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    return provider


def instrument(app: "FastAPI", tracer: Tracer) -> None:
    """Every request a span (but NOT_TRACED), when tracing is on."""
    if not isinstance(tracer, OpenTelemetryTracer):
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=tracer.provider, excluded_urls=NOT_TRACED,
        exclude_spans=["receive", "send"],  # a span per request, not three
    )  # fmt: skip


def _exporter(name: str) -> "SpanExporter":
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def _parent_of(span: Any) -> TraceParent | None:
    """The span's ids, as its `traceparent` header says them (None for no valid span)."""
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier, trace.set_span_in_context(span))
    return TraceParent.parse(carrier.get("traceparent"))


def _context_of(parent: TraceParent) -> Any:
    """A context whose current span is `parent`, read from its `traceparent` header (as a
    worker reads the lease's)."""
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator().extract({"traceparent": parent.header()})
