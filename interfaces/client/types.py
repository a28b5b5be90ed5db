"""What the API answers, as typed dictionaries (a test holds each one's keys and their
types to the server's OpenAPI document, so the client cannot drift from it)."""

from typing import Any, TypedDict


class Lease(TypedDict):
    worker_id: str
    expires_at: str


class Task(TypedDict):
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
    worker_id: str | None
    """The name of the worker pool running the task."""
    pool_id: str | None
    algorithm_used: str | None
    decision_summary: str | None
    deferral_reason: str | None
    error: str | None
    task_metadata: dict[str, Any]
    position: int
    """The log position of the task's latest event."""
    attempt: int
    max_attempts: int
    timeout_s: float | None
    ready_at: str | None
    lease: Lease | None
    cancel_requested: bool
    tenant: str
    preemptible: bool


class TaskPage(TypedDict):
    tasks: list[Task]
    total: int
    page: int
    page_size: int


class Pool(TypedDict):
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


class LeaseGrant(TypedDict):
    token: str
    """Presented with every heartbeat and report: the proof the worker holds the task."""
    expires_at: str
    seconds: float
    """The lease's length: heartbeat well within it."""


class LeasedTask(TypedDict):
    task: Task
    lease: LeaseGrant
    traceparent: str | None
    """With tracing on, the lease's span (W3C trace context): the worker's continue it."""


class Heartbeat(TypedDict):
    task_id: str
    lease_expires_at: str
    cancel_requested: bool
    """The task is being cancelled: stop it and release it."""
