"""Request and response bodies of the v1 API (compatible with the original's)."""

import math
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import orjson
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from application.simulation.demo_pools import DEMO_POOLS
from application.simulation.traffic import Distribution
from domain.retry import MAX_ATTEMPTS, MAX_BACKOFF_S, MAX_TIMEOUT_S
from domain.tenant import MAX_LIMIT, MAX_WEIGHT
from domain.values import Algorithm, Execution, ResourceType, TaskType

MAX_METADATA_BYTES = 16 * 1024
MAX_METADATA_DEPTH = 8
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"


def _check_values(value: Any, depth: int = 1) -> None:
    """Finite numbers only, and at most MAX_METADATA_DEPTH levels of nesting."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("metadata must not contain NaN or Infinity")
    if isinstance(value, dict | list):
        if depth > MAX_METADATA_DEPTH:
            raise ValueError(f"metadata must nest at most {MAX_METADATA_DEPTH} levels deep")
        for item in value.values() if isinstance(value, dict) else value:
            _check_values(item, depth + 1)


def _json_object(value: dict[str, Any]) -> dict[str, Any]:
    _check_values(value)
    try:
        encoded = orjson.dumps(value)
    except TypeError as error:
        raise ValueError(f"metadata is not storable JSON ({error})") from None
    if len(encoded) > MAX_METADATA_BYTES:
        raise ValueError(f"metadata must encode to at most {MAX_METADATA_BYTES} bytes")
    return value


Region = Annotated[str, Field(min_length=1, max_length=64, pattern=NAME_PATTERN)]
Metadata = Annotated[dict[str, Any], AfterValidator(_json_object)]
Cost = Annotated[float, Field(strict=True, gt=0, le=1e9, allow_inf_nan=False)]
Reason = Annotated[str, Field(min_length=1, max_length=500)]
Priority = Annotated[int, Field(strict=True, ge=1, le=10)]
Seconds = Annotated[float, Field(strict=True, ge=0, le=MAX_BACKOFF_S, allow_inf_nan=False)]
LeaseToken = Annotated[str, Field(min_length=1, max_length=100)]
WorkerId = Annotated[str, Field(min_length=1, max_length=200, pattern=NAME_PATTERN)]
Error = Annotated[str, Field(min_length=1, max_length=8000)]
TenantName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=63,
        pattern=r"^[a-z0-9][a-z0-9._-]*$",
        description="lowercase letters, digits and ._-, beginning with a letter or digit",
    ),
]
Limit = Annotated[int, Field(strict=True, ge=0, le=MAX_LIMIT)]
Weight = Annotated[float, Field(strict=True, gt=0, le=MAX_WEIGHT, allow_inf_nan=False)]


def one_of(values: type[StrEnum]) -> str:
    return ", ".join(f"`{value}`" for value in values)


REGION_HELP = (
    "a region name: letters, digits and _.:- (the demo pools are in "
    + ", ".join(f"`{region}`" for region, *_ in DEMO_POOLS)
    + "); a task prefers pools in its region and goes elsewhere when none there has room"
)


def _iso_time(value: Any) -> Any:
    """Only an ISO 8601 string: not a number (no Unix times), not a numeric string."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date and time string, such as 2026-12-04T10:00:00")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{value[:40]!r} is not an ISO 8601 date and time, such as 2026-12-04T10:00:00"
        ) from None


IsoTime = Annotated[datetime, BeforeValidator(_iso_time)]


class Strict(BaseModel):
    """A request body: no unknown fields. Every number in one is declared strict: a JSON
    number, never a string or a boolean (tests/api/test_bad_input.py checks them all)."""

    model_config = ConfigDict(extra="forbid")


class TaskCreate(Strict):
    type: TaskType = Field(description=f"one of {one_of(TaskType)}")
    priority: Priority = Field(description="1 (lowest) to 10 (highest)")
    cost: Cost = Field(description="above 0")
    region: Region = Field(description=REGION_HELP)
    metadata: Metadata = Field(default_factory=dict)
    resource_type: ResourceType | None = Field(
        default=None, description=f"{one_of(ResourceType)}, or none for either"
    )
    max_attempts: int = Field(
        default=3, strict=True, ge=1, le=MAX_ATTEMPTS, description="attempts before dead letters"
    )
    retry_backoff_s: Seconds = Field(
        default=1.0, description="wait after the first failed attempt; doubles after each"
    )
    retry_backoff_max_s: Seconds = Field(default=300.0, description="the longest wait")
    timeout_s: float | None = Field(
        default=None,
        strict=True,
        gt=0,
        le=MAX_TIMEOUT_S,
        allow_inf_nan=False,
        description="an attempt running longer fails with reason timeout",
    )
    not_before: IsoTime | None = Field(
        default=None,
        description="an ISO 8601 date and time: the task waits (delayed) until then; UTC "
        "if no offset",
    )
    tenant: TenantName | None = Field(
        default=None, description="the tenant the task belongs to (default: `default`)"
    )
    preemptible: bool = Field(
        default=False, strict=True, description="may be stopped for another tenant's task"
    )

    @model_validator(mode="after")
    def _backoff_range(self) -> "TaskCreate":
        if self.retry_backoff_max_s < self.retry_backoff_s:
            raise ValueError("retry_backoff_max_s must not be below retry_backoff_s")
        return self


class LeaseHolder(BaseModel):
    worker_id: str
    expires_at: str


class TaskOut(BaseModel):
    id: str
    type: str
    priority: int
    cost: float
    region: str
    resource_type: str | None
    status: str
    enqueued_at: str
    started_at: str | None
    completed_at: str | None
    worker_id: str | None = Field(description="name of the worker pool running the task")
    pool_id: str | None
    algorithm_used: str | None
    decision_summary: str | None
    deferral_reason: str | None
    error: str | None
    task_metadata: dict[str, Any]
    position: int = Field(description="global log position of the task's latest event")
    attempt: int = Field(description="attempts started so far")
    max_attempts: int
    timeout_s: float | None
    ready_at: str | None = Field(description="while delayed: when the task joins the queue")
    lease: LeaseHolder | None = Field(description="the worker holding the task, if any")
    cancel_requested: bool = Field(description="cancelled while a worker holds it")
    tenant: str = Field(description="the tenant it belongs to")
    preemptible: bool = Field(description="may be stopped for another tenant's task")


class TaskPage(BaseModel):
    tasks: list[TaskOut]
    total: int
    page: int
    page_size: int


class ReasonIn(Strict):
    reason: Reason | None = None


class CompleteIn(Strict):
    lease: LeaseToken | None = Field(
        default=None, description="the lease token: required for a task in an external pool"
    )


class FailIn(Strict):
    reason: Error | None = None
    lease: LeaseToken | None = None


class LeaseIn(Strict):
    worker_id: WorkerId
    max_tasks: int = Field(default=1, strict=True, ge=1, le=100)
    wait_s: float = Field(
        default=0.0,
        strict=True,
        ge=0,
        le=60,
        allow_inf_nan=False,
        description="long-poll up to this long",
    )
    types: list[TaskType] | None = Field(
        default=None,
        min_length=1,
        max_length=len(TaskType),
        description="lease only tasks of these types (default: of any)",
    )


class LeaseOut(BaseModel):
    token: str
    expires_at: str
    seconds: float = Field(description="the lease's length: heartbeat well within it")


class LeasedTask(BaseModel):
    task: TaskOut
    lease: LeaseOut
    traceparent: str | None = Field(
        default=None,
        description="with tracing on, the lease's span (W3C trace context): a worker's spans "
        "and reports continue the task's trace under it",
    )


class LeasedTasks(BaseModel):
    pool_id: str
    worker_id: str
    tasks: list[LeasedTask]


class HeartbeatIn(Strict):
    lease: LeaseToken


class HeartbeatOut(BaseModel):
    task_id: str
    lease_expires_at: str
    cancel_requested: bool = Field(description="stop the task and release it")


class ReleaseIn(Strict):
    lease: LeaseToken
    reason: Reason | None = None


class EventOut(BaseModel):
    position: int
    stream_id: str
    version: int
    type: str
    schema_version: int
    payload: dict[str, Any]
    metadata: dict[str, Any]


class TaskEvents(BaseModel):
    task_id: str
    events: list[EventOut]


class Envelope(BaseModel):
    position: int
    event_id: str
    recorded_at: str
    correlation_id: str
    causation_id: str | None
    actor: str


class CandidateOut(BaseModel):
    pool_id: str
    name: str
    region: str
    resource_type: str
    cost_per_unit: float
    capacity: int
    load: int
    registration: int
    filtered_out: str | None = Field(
        description="why the pool was not considered: wrong resource type, at capacity, "
        "other region; null if it was ranked"
    )
    rank: int | None = Field(description="1 = best, among the ranked pools")
    rank_key: list[float] | None = Field(description="the key it was ranked by (see ranked_by)")
    chosen: bool


class DecisionTaskOut(BaseModel):
    priority: int
    region: str
    resource_type: str | None


class DecisionOut(Envelope):
    outcome: str = Field(description="assigned or deferred")
    algorithm: str
    algorithm_version: int
    summary: str
    task: DecisionTaskOut
    chosen_pool_id: str | None
    chosen_pool_name: str | None
    ranked_by: list[str] | None = Field(
        description="what each part of a rank key is; a leading - ranks highest first"
    )
    pools_seen: int
    pools_ranked: int
    candidates: list[CandidateOut]
    rebuilt_from: "RebuiltFrom | None" = Field(
        None,
        description="for a compact record (schema 3): the log position whose pool states "
        "the candidates were rebuilt from, checked against the recorded digest; null when "
        "the decision stored every pool itself",
    )
    tenant_stage: "TenantStageOut | None" = Field(
        None,
        description="the fair-share stage that chose the task's tenant, with every competing "
        "tenant's figures; null when it had no choice (one tenant without quotas)",
    )


class TenantFiguresOut(BaseModel):
    name: str
    weight: float
    quota: "LimitsOut"
    borrowing: "LimitsOut"
    running: "LimitsOut"
    share: float = Field(description="dominant share of the capacity over its weight")
    wanting: list[str] = Field(description="resource types its next task could go to")
    verdict: str | None = Field(
        default=None, description="chosen, at quota, over its share or borrowing waits"
    )
    why: str | None = Field(default=None, description="why it waits (null for the chosen)")


class TenantStageOut(BaseModel):
    chosen: str
    summary: str
    capacity: "LimitsOut"
    tenants: list[TenantFiguresOut]


class RebuiltFrom(BaseModel):
    seen_position: int
    scheduler_run: str
    digest: str = Field(description="SHA-256 of the task and every pool as seen, base64url")


class TaskDecisions(BaseModel):
    task_id: str
    decisions: list[DecisionOut]


class TimelineEvent(Envelope):
    type: str
    at: str = Field(description="when it happened, by the event's own clock")


class TimelineState(BaseModel):
    state: str
    entered_at: str
    left_at: str | None
    seconds: float | None = Field(description="time spent; up to now if not yet left")
    attempt: int = Field(description="attempts started when the state began")


class TaskTimeline(BaseModel):
    task_id: str
    status: str
    attempts: int
    events: list[TimelineEvent]
    states: list[TimelineState]
    delayed_seconds: float
    queued_seconds: float
    processing_seconds: float
    total_seconds: float


class FindingOut(BaseModel):
    position: int
    stream_id: str
    detail: str


class ChainOut(BaseModel):
    checked: int
    head_hash: str = Field(description="keep it elsewhere to detect later rewrites or cuts")
    first_broken: int | None = Field(description="first position altered, deleted or moved")
    problem: str | None


class AuditOut(BaseModel):
    ok: bool
    head: int
    events_checked: int
    decisions_checked: int
    preemptions_checked: int = Field(
        0, description="preemptions whose victim was chosen again on the state they saw"
    )
    tenant_checks_skipped: int = Field(
        0,
        description="placements and preemptions whose tenants could not be checked: the "
        "log starts at a cut saved before the tenants were kept there",
    )
    snapshots_checked: int = Field(description="snapshots held against the log's fold")
    mismatch_count: int
    violation_count: int
    corrupt_count: int
    mismatches: list[FindingOut] = Field(
        description="decisions that recompute differently, snapshots that differ from the fold"
    )
    violations: list[FindingOut] = Field(description="domain invariants broken")
    corrupt: list[FindingOut] = Field(
        description="stored events that cannot be read back (time, payload or fields)"
    )
    chain: ChainOut


class VerifiedOut(AuditOut):
    verified_to: int = Field(description="the report covers positions 1 to this one")
    verified_at: str = Field(description="when the report was last brought up to date")
    log_head: int = Field(description="the log's head now")
    behind: int = Field(description="events committed since: log_head - verified_to")


class VerificationJobOut(BaseModel):
    id: str
    status: str = Field(description="running, done or failed")
    phase: str = Field(
        description="starting, verifying (chain, decisions and invariants in one pass), finished"
    )
    done: int
    total: int
    started_at: str
    finished_at: str | None
    error: str | None
    report: AuditOut | None = Field(description="when done")


LogPoint = Annotated[
    Annotated[int, Field(strict=True, ge=0)] | Annotated[str, Field(strict=True, max_length=64)],
    Field(description="a log position, or an ISO 8601 time (the newest event at or before it)"),
]


class ReplayIn(Strict):
    algorithm: Algorithm = Field(description=f"one of {one_of(Algorithm)}")
    from_: LogPoint | None = Field(
        default=None, alias="from", description="report tasks queued after this point"
    )
    to: LogPoint | None = Field(default=None, description="replay the log up to here (head)")
    tenants: "dict[TenantName, TenantPatch] | None" = Field(
        default=None,
        description="other settings for some tenants, in force for the whole replay: "
        "weight, and the resource types given in quota and borrowing",
    )


class ReplayMetrics(BaseModel):
    total_cost: float = Field(description="sum of task cost x the pool's cost per unit")
    cross_region: int = Field(description="tasks placed outside their preferred region")
    mean_wait_s: float
    p95_wait_s: float
    mean_wait_by_priority_band_s: dict[str, float] = Field(
        description="high 7-10, medium 4-6, low 1-3"
    )
    pool_utilization_pct: dict[str, float]


class ReplayOut(BaseModel):
    algorithm: str
    algorithms_used: list[str] = Field(description="the algorithms of the recorded decisions")
    window: dict[str, int]
    tasks: int = Field(description="tasks compared (queued in the window and started)")
    not_replayed: int = Field(description="tasks that never started: no time to reuse")
    still_waiting: int = Field(
        description="tasks the replay leaves waiting at the end, compared on neither side"
    )
    placements_changed: int
    actual: ReplayMetrics
    what_if: ReplayMetrics
    tenants: "TenantReplay"


class TenantReplayFigures(BaseModel):
    tasks: int
    mean_wait_s: float
    p95_wait_s: float
    preemptions: int
    share_pct: list[float] = Field(
        description="its share of the pools' slot-seconds in each interval of bucket_s"
    )


class TenantReplay(BaseModel):
    bucket_s: float = Field(description="the length of each share interval")
    start: float = Field(description="the first interval's start, seconds since the epoch")
    actual: dict[str, TenantReplayFigures]
    what_if: dict[str, TenantReplayFigures]


class EventPage(BaseModel):
    events: list[EventOut]
    next_after: int
    head: int


class LogEntry(BaseModel):
    id: int
    task_id: str | None
    timestamp: str
    event_type: str
    details: dict[str, Any]


class LogPage(BaseModel):
    logs: list[LogEntry]
    total: int
    page: int
    page_size: int


class PoolCreate(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100, pattern=NAME_PATTERN)]
    region: Region
    resource_type: ResourceType
    cost_per_unit: Annotated[float, Field(strict=True, ge=0, le=1e9, allow_inf_nan=False)]
    capacity: int = Field(strict=True, ge=0, le=1_000_000)
    execution: Execution = Field(
        default=Execution.SIMULATED,
        description=f"who runs its tasks ({one_of(Execution)}): the simulator, or external "
        "workers that lease them",
    )


class PoolPatch(Strict):
    capacity: int | None = Field(default=None, strict=True, ge=0, le=1_000_000)
    execution: Execution | None = None

    @model_validator(mode="after")
    def _something(self) -> "PoolPatch":
        if self.capacity is None and self.execution is None:
            raise ValueError("give capacity, execution or both")
        return self


class PoolOut(BaseModel):
    id: str
    name: str
    region: str
    resource_type: str
    cost_per_unit: float
    capacity: int
    current_load: int
    utilization: float
    execution: str
    draining: bool


class PoolList(BaseModel):
    worker_pools: list[PoolOut]


class QuotaIn(Strict):
    """Running tasks per resource type at most; null or absent: no limit."""

    cpu: Limit | None = None
    gpu: Limit | None = None


class BorrowingIn(Strict):
    """Running tasks past the quota, on capacity others leave idle; absent: none; null: no
    limit."""

    cpu: Limit | None = 0
    gpu: Limit | None = 0


class TenantCreate(Strict):
    name: TenantName
    weight: Weight = Field(default=1.0, description="its share of contended capacity, relative")
    quota: QuotaIn = Field(default_factory=QuotaIn)
    borrowing: BorrowingIn = Field(default_factory=BorrowingIn)


class TenantPatch(Strict):
    """The settings to change; in `quota` and `borrowing` only the types given change."""

    weight: Weight | None = None
    quota: QuotaIn | None = None
    borrowing: BorrowingIn | None = None

    @model_validator(mode="after")
    def _something(self) -> "TenantPatch":
        if self.weight is None and self.quota is None and self.borrowing is None:
            raise ValueError("give weight, quota, borrowing or several")
        return self


def given(body: QuotaIn | BorrowingIn | None) -> dict[str, int | None] | None:
    """The resource types a patch names, with their new limits."""
    if body is None:
        return None
    return {name: getattr(body, name) for name in sorted(body.model_fields_set)}


class LimitsOut(BaseModel):
    cpu: int | None
    gpu: int | None


class TenantOut(BaseModel):
    name: str
    weight: float
    quota: LimitsOut
    borrowing: LimitsOut
    created_at: str | None = Field(description="null for the default tenant")
    changed_at: str | None
    queued: int | None = Field(
        default=0, description="its tasks waiting for a pool (null as of a past point)"
    )
    delayed: int | None = Field(
        default=0, description="its tasks waiting for their time (null as of a past point)"
    )
    processing: int | None = Field(
        default=0, description="its tasks running (null as of a past point)"
    )
    preempted: int = Field(default=0, description="its tasks preempted so far")


class TenantList(BaseModel):
    tenants: list[TenantOut]


class AlgorithmSwitch(Strict):
    algorithm: Algorithm = Field(description=f"one of {one_of(Algorithm)}")


class AlgorithmSwitched(BaseModel):
    status: str
    algorithm: str


class Algorithms(BaseModel):
    active: str
    available: list[str]


class SimulationCreate(Strict):
    task_count: int = Field(strict=True, ge=1, le=10_000)
    distribution: Distribution = Field(
        default=Distribution.RANDOM, description=f"one of {one_of(Distribution)}"
    )
    region_bias: Region | None = None
    priority_range: tuple[Priority, Priority] = (1, 10)
    cost_range: tuple[Cost, Cost] = (0.1, 10.0)

    @model_validator(mode="after")
    def _ordered_ranges(self) -> "SimulationCreate":
        if self.priority_range[0] > self.priority_range[1]:
            raise ValueError("priority_range must be [low, high] with low <= high")
        if self.cost_range[0] > self.cost_range[1]:
            raise ValueError("cost_range must be [low, high] with low <= high")
        return self


class SimulationOut(BaseModel):
    id: str
    task_count: int
    tasks_created: int
    start_time: str
    status: str
    distribution: str
    error: str | None = None


class SeriesPoint(BaseModel):
    at: datetime = Field(description="the start of the step (a multiple of step_s)")
    seconds: int = Field(description="the step's length; for the last, how much has passed")
    finished: int = Field(description="tasks completed, or failed for good, in the step")
    throughput: float = Field(description="finished tasks a second over the step's seconds")
    completed: int
    mean_latency_s: float | None = Field(
        description="submission to completion, over the step's completed tasks"
    )


class Series(BaseModel):
    window_s: int
    step_s: int
    points: list[SeriesPoint]


class TenantLine(BaseModel):
    running: list[int] = Field(description="its running tasks at the end of each step")
    share_pct: list[float] = Field(description="those as a share of `slots`, in percent")


class TenantSeries(BaseModel):
    window_s: int
    step_s: int
    slots: int = Field(description="the slots of the pools taking tasks now")
    at: list[datetime] = Field(description="each step's end, oldest first")
    tenants: dict[str, TenantLine] = Field(
        description="each tenant with tasks running in the window"
    )


ReplayIn.model_rebuild()  # its tenants take TenantPatch, defined after it
ReplayOut.model_rebuild()
