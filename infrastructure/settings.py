"""Settings from the environment (prefix TASKROUTERX_), with the embedded defaults."""

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _default_processes() -> int:
    return 2 if (os.cpu_count() or 1) >= 2 else 1


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TASKROUTERX_", extra="ignore")

    database_url: str = "sqlite:///./taskrouterx.db"
    sqlite_synchronous: Literal["FULL", "NORMAL", "EXTRA"] = "FULL"
    busy_timeout_ms: int = Field(default=5000, ge=0)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    cors_origins: list[str] = ["http://localhost:3000", "http://127.0.0.1:3000"]
    allowed_hosts: list[str] | None = None
    """Names the Host header may carry ("*": any); by default localhost, 127.0.0.1, ::1 and
    HOST unless it is 0.0.0.0 or ::."""
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_connections: int = Field(default=1000, ge=1)
    """Open HTTP connections at once; one more is answered 503 and closed."""
    max_header_bytes: int = Field(default=65_536, ge=1024)
    """A request's line and headers, in bytes; more is answered 431."""
    max_headers: int = Field(default=100, ge=8)
    header_timeout_s: float = Field(default=10.0, gt=0)
    """From a connection's opening, or a request's first byte, to the end of its headers."""
    max_streams: int = Field(default=500, ge=1)
    """Event streams open at once (503 beyond)."""
    max_streams_per_key: int = Field(default=50, ge=1)
    """Event streams one API key may hold open (429 beyond)."""
    heavy_request_s: float = Field(default=5.0, gt=0)
    """How long a request that reads the whole log (a what-if replay) may take; 503 after."""
    processes: int = Field(default_factory=lambda: _default_processes(), ge=1, le=2)
    """1: the whole node in one process. 2: HTTP in one process, the single writer, the
    scheduler and the simulated workers in another (two cores at work). By default 2 on
    a machine with two cores or more."""
    max_writer_backlog: int = Field(default=10_000, ge=1)
    """Client commands waiting for the single writer at most; one more is answered 503
    with Retry-After at once."""
    verify_continuously: bool = True
    """Verify each new event as it is committed, in the background (GET /audit/verify)."""
    snapshot_every: int = Field(default=1000, ge=1)
    """Events of a stream between two of its snapshots (a pool, the scheduler's settings)."""
    archive_dir: Path | None = None
    """Where archive segments are written (retention) and read from (history before the
    hot log's start)."""
    archive_after: timedelta | None = None
    """Archive and remove, in the background, the events recorded longer ago than this
    (for example 7d, 12h, 90m, 60s); needs ARCHIVE_DIR. Off when unset."""
    archive_check_s: float = Field(default=60.0, gt=0)
    """How often retention looks for events due to be archived."""
    task_rows_retention: timedelta | None = None
    """Drop the read model's rows of tasks completed or cancelled longer ago than this (then
    `GET /tasks/{id}` answers 404 for them; counts and stats stay). Kept when unset."""
    keep_alive_s: int = Field(default=5, ge=1)
    """How long an idle connection is kept open between requests."""
    idempotency_ttl_s: int = Field(default=24 * 3600, ge=1)
    api_keys: str | None = None
    """JSON: [{"name": ..., "sha256": <hex of the key's SHA-256>, "scopes": [...]}]"""
    api_keys_file: Path | None = None
    rate_limit_per_s: float = Field(default=1000.0, gt=0)
    """Requests a second each API key may make, sustained (token bucket)."""
    rate_limit_burst: int = Field(default=2000, ge=1)
    lease_s: float = Field(default=30.0, ge=1, le=3600)
    """How long an external worker's lease lasts without a heartbeat."""
    ready_max_lag: int = Field(default=1000, ge=0)
    """Events a projection may be behind the log for the node to report ready."""
    demo_pools: bool = True
    scheduler: Literal["on", "off"] = "on"
    simulator: Literal["on", "off"] = "on"
    sim_min_latency_s: float = Field(default=0.1, ge=0)
    sim_max_latency_s: float = Field(default=2.0, ge=0)
    sim_failure_rate: float = Field(default=0.05, ge=0, le=1)
    sim_seed: int | None = None
    id_seed: int | None = None
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"
    otel_traces_exporter: str = Field(
        default="none",
        validation_alias=AliasChoices("OTEL_TRACES_EXPORTER", "otel_traces_exporter"),
    )
    """OpenTelemetry's own variables, read as its SDK reads them: tracing is off unless
    OTEL_TRACES_EXPORTER names an exporter this server has (`otlp`, `console`; a list
    takes the first of them; other names are ignored with a warning: see
    infrastructure/telemetry.py)."""
    otel_sdk_disabled: bool = Field(
        default=False, validation_alias=AliasChoices("OTEL_SDK_DISABLED", "otel_sdk_disabled")
    )
    otel_service_name: str = Field(
        default="taskrouterx",
        min_length=1,
        validation_alias=AliasChoices("OTEL_SERVICE_NAME", "otel_service_name"),
    )

    @field_validator("archive_after", "task_rows_retention", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        """A number and a unit (s, m, h, d), as well as pydantic's forms (seconds, ISO)."""
        if isinstance(value, str) and (found := DURATION.fullmatch(value.strip())):
            return timedelta(seconds=float(found[1]) * UNITS[found[2]])
        return value

    @model_validator(mode="after")
    def _latency_range(self) -> "Settings":
        if self.sim_min_latency_s > self.sim_max_latency_s:
            raise ValueError("sim_min_latency_s must not exceed sim_max_latency_s")
        if self.archive_after is not None:
            if self.archive_dir is None:
                raise ValueError("archive_after needs archive_dir: where the segments go")
            if self.archive_after <= timedelta(0):
                raise ValueError("archive_after must be a positive duration")
        if self.task_rows_retention is not None and self.task_rows_retention <= timedelta(0):
            raise ValueError("task_rows_retention must be a positive duration")
        return self
