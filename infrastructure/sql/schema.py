"""Table definitions for queries. Alembic migrations own the schema; a test checks that
the migrated database matches these definitions."""

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

Position = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

events = Table(
    "events",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=False),
    Column("stream_id", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("type", String(100), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("payload", Text, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("correlation_id", String(100), nullable=False),
    Column("causation_id", String(100), nullable=True),
    Column("actor", String(100), nullable=False),
    Column("recorded_at", String(40), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("stream_id", "version", name="uq_events_stream_version"),
    Index("ix_events_type_position", "type", "position"),
    Index("ix_events_correlation_position", "correlation_id", "position"),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("position", BigInteger, nullable=False),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("type", String(20), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("cost", Float, nullable=False),
    Column("region", String(64), nullable=False),
    Column("resource_type", String(10), nullable=True),
    Column("status", String(20), nullable=False),
    Column("metadata", Text, nullable=False),
    Column("enqueued_at", String(40), nullable=False),
    Column("started_at", String(40), nullable=True),
    Column("completed_at", String(40), nullable=True),
    Column("pool_id", String(36), nullable=True),
    Column("pool_name", String(100), nullable=True),
    Column("algorithm_used", String(20), nullable=True),
    Column("decision_summary", Text, nullable=True),
    Column("deferral_reason", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("correlation_id", String(100), nullable=False),
    Column("queued_position", BigInteger, nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("attempt", Integer, nullable=False, server_default="0"),
    Column("max_attempts", Integer, nullable=False, server_default="3"),
    Column("timeout_s", Float, nullable=True),
    Column("ready_at", String(40), nullable=True),
    Column("ready_position", BigInteger, nullable=True),
    Column("leased_by", String(200), nullable=True),
    Column("lease_expires_at", String(40), nullable=True),
    Column("cancel_requested", Integer, nullable=False, server_default="0"),
    Column("tenant", String(63), nullable=False, server_default="default"),
    Column("preemptible", Integer, nullable=False, server_default="0"),
    Index("ix_tasks_queued_position", "queued_position"),
    Index("ix_tasks_pool_status", "pool_id", "status"),
    Index("ix_tasks_status_queued_position", "status", "queued_position"),
    Index("ix_tasks_type_queued_position", "type", "queued_position"),
    Index("ix_tasks_region_queued_position", "region", "queued_position"),
    Index("ix_tasks_tenant_queued_position", "tenant", "queued_position"),
    Index("ix_tasks_tenant_status", "tenant", "status"),
)

task_counts = Table(
    "task_counts",
    metadata,
    Column("status", String(20), primary_key=True),
    Column("type", String(20), primary_key=True),
    Column("region", String(64), primary_key=True),
    Column("tenant", String(63), primary_key=True),
    Column("count", BigInteger, nullable=False),
)

pool_load = Table(
    "pool_load",
    metadata,
    Column("pool_id", String(36), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("region", String(64), nullable=False),
    Column("resource_type", String(10), nullable=False),
    Column("cost_per_unit", Float, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("current_load", Integer, nullable=False),
    Column("registration", BigInteger, nullable=False),
    Column("execution", String(10), nullable=False, server_default="simulated"),
    Column("draining", Integer, nullable=False, server_default="0"),
)

tenants = Table(
    "tenants",
    metadata,
    Column("name", String(63), primary_key=True),
    Column("weight", Float, nullable=False),
    Column("quota_cpu", Integer, nullable=True),
    Column("quota_gpu", Integer, nullable=True),
    Column("borrowing_cpu", Integer, nullable=True),
    Column("borrowing_gpu", Integer, nullable=True),
    Column("created_at", String(40), nullable=True),
    Column("changed_at", String(40), nullable=True),
    Column("position", BigInteger, nullable=False),
)
"""Each tenant's settings (the `default` tenant has a row once changed)."""

stats_counters = Table(
    "stats_counters",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("value", Float, nullable=False),
)

stats_throughput = Table(
    "stats_throughput",
    metadata,
    Column("second", BigInteger, primary_key=True, autoincrement=False),
    Column("finished", BigInteger, nullable=False),
    Column("completed", BigInteger, nullable=False, server_default="0"),
    Column("latency_sum_us", BigInteger, nullable=False, server_default="0"),
)
"""Per second of the wall clock: tasks finished (completed, or failed for good), and of
them completed with the sum of their latencies (submission to completion)."""

tenant_seconds = Table(
    "tenant_seconds",
    metadata,
    Column("second", BigInteger, primary_key=True, autoincrement=False),
    Column("tenant", String(63), primary_key=True),
    Column("started", BigInteger, nullable=False),
    Column("ended", BigInteger, nullable=False),
)
"""Per ten seconds of the wall clock (keyed by the first) and tenant: attempts started (a
task began processing) and ended (it stopped processing, for whatever reason), so each
tenant's running tasks at the end of any recent step are its running tasks now less what
started since, plus what ended. A row per busy tenant per ten seconds: 100 tenants busy
all day add 864,000 rows (kept a day and an hour, like the throughput seconds)."""

event_traces = Table(
    "event_traces",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=False),
    Column("trace_id", String(32), nullable=False),
    Column("span_id", String(16), nullable=False),
    Index("ix_event_traces_trace_position", "trace_id", "position"),
)
"""The trace (OpenTelemetry, with tracing on) each event was recorded under, beside the
events table rather than in it: the hash chain, archives and exports hold the log's
content, and a trace id is an operational pointer into a tracing system. Written in the
event's own transaction; nothing at all with tracing off; removed with the events."""


idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("created_at", String(40), nullable=False),
)

snapshots = Table(
    "snapshots",
    metadata,
    Column("stream_id", String(200), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("state", Text, nullable=False),
    Column("digest", String(64), nullable=False),
)
"""Each snapshotted stream's latest snapshot: the aggregate's state (JSON) as its events
up to `version` fold it (the last of them at `position`), and the SHA-256 of that JSON."""

log_start = Table(
    "log_start",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("position", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("state", Text, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("summary", Text, nullable=False),
    Column("moved_at", String(40), nullable=False),
)
"""One row once events are archived and removed: the last position removed, its chain hash,
the state there (`application.audit.log_start.LogStart`, JSON) and its SHA-256, what the
removed events add to the read models time travel serves (JSON), and when the start last
moved."""

archive_segments = Table(
    "archive_segments",
    metadata,
    Column("first_position", BigInteger, primary_key=True, autoincrement=False),
    Column("last_position", BigInteger, nullable=False),
    Column("events", Integer, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("hash_before", String(64), nullable=False),
    Column("hash_after", String(64), nullable=False),
    Column("file", String(100), nullable=False),
)
"""The manifest of each archive segment whose events were removed from the hot log."""
