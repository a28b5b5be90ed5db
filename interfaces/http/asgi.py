"""The ASGI entry point: `uvicorn interfaces.http.asgi:create --factory` (and what
`taskrouterx serve` runs)."""

from fastapi import FastAPI

from infrastructure.bootstrap import bootstrap, bootstrap_front
from infrastructure.runtime import freed_memory_releaser, tune_garbage_collector
from infrastructure.settings import Settings
from infrastructure.structured_logging import configure_logging
from infrastructure.telemetry import instrument
from interfaces.http.app import create_app
from interfaces.http.event_stream import StreamSlots
from interfaces.http.middleware.auth import KeyRing
from interfaces.http.middleware.rate_limit import RateLimiter
from interfaces.http.middleware.request_guard import allowed_hosts_for


def create(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_format, settings.log_level)
    keys = KeyRing.load(settings.api_keys, settings.api_keys_file)
    limiter = RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst)
    streams = StreamSlots(settings.max_streams, settings.max_streams_per_key)
    node = bootstrap_front(settings) if settings.processes == 2 else bootstrap(settings)
    app = create_app(
        node,
        settings.cors_origins,
        settings.max_body_bytes,
        keys,
        limiter,
        streams,
        freed_memory_releaser(),
        allowed_hosts_for(settings.host, settings.allowed_hosts),
        settings.heavy_request_s,
    )
    instrument(app, node.tracer)
    tune_garbage_collector()
    app.state.closing.on_exit_signals()
    return app
