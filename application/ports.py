"""Ports: what the application needs from the outside world, implemented in infrastructure."""

from collections.abc import Collection, Sequence
from concurrent.futures import Future
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from application.messages import (
    Command,
    CommandResult,
    MessageContext,
    RecordedEvent,
    StreamWrite,
)
from application.restored_state import RunningTasks, SchedulerState, TimekeeperState
from application.tracing import TraceParent

if TYPE_CHECKING:
    from application.audit.whatif import ReplayInputs
from domain.scheduling import PoolSnapshot
from domain.values import Algorithm, TaskType


class EventStore(Protocol):
    """An append-only log of events in streams, with a gap-free global position."""

    def append(self, writes: Sequence[StreamWrite], context: MessageContext) -> list[RecordedEvent]:
        """Write every stream atomically, or raise ConcurrencyConflict and write nothing."""
        ...

    def read_stream(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
        """One stream's events after a version, in version order."""
        ...

    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        """The whole log after a position, in position order, at most `limit` events."""
        ...

    def read_types(
        self, after_position: int, types: frozenset[str], limit: int = 1000
    ) -> tuple[list[RecordedEvent], int]:
        """Events of the given types after a position, at most `limit`, and the position
        read up to: the last one returned when the page is full, else the log head."""
        ...

    def head(self) -> int:
        """The position of the last committed event (0 for an empty log)."""
        ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class IdGenerator(Protocol):
    def new_id(self) -> str:
        """A fresh UUID in canonical text form."""
        ...


class CommandSender(Protocol):
    """Runs commands, one at a time, on the single writer."""

    def submit(self, command: Command, context: MessageContext) -> "Future[CommandResult]": ...


class SchedulerStateSource(Protocol):
    def scheduler_state(self) -> SchedulerState:
        """Pools, waiting tasks and the active algorithm, consistent at one position."""
        ...


class WorkerStateSource(Protocol):
    def running_tasks(self) -> RunningTasks:
        """Tasks being processed, consistent at one position."""
        ...


class SchedulingObserver(Protocol):
    """Told of every decision the scheduler makes and records (metrics)."""

    def decided(self, algorithm: str, seconds: float) -> None: ...

    def recorded(self, algorithm: str, outcome: str) -> None:
        """`outcome`: "assigned" or "deferred"."""
        ...


class TimekeeperStateSource(Protocol):
    def timekeeper_state(self) -> TimekeeperState:
        """Unfinished tasks with a due time or a timeout, consistent at one position."""
        ...


class ReadModel(Protocol):
    """Queries over the projections; never loads aggregates."""

    def get_task(self, task_id: str) -> dict[str, Any] | None: ...

    def task_row(self, task_id: str) -> dict[str, Any] | None:
        """The task's row in the tasks projection as committed (None if it has none)."""
        ...

    def list_tasks(
        self,
        status: str | None,
        type: str | None,
        region: str | None,
        page: int,
        page_size: int,
        tenant: str | None = None,
    ) -> tuple[list[dict[str, Any]], int]: ...

    def list_pools(self) -> list[dict[str, Any]]: ...

    def get_pool(self, pool_id: str) -> dict[str, Any] | None: ...

    def list_tenants(self) -> list[dict[str, Any]]: ...

    def get_tenant(self, name: str) -> dict[str, Any] | None: ...

    def leasable(
        self, pool_id: str, limit: int, types: Collection[TaskType] | None = None
    ) -> list[str]:
        """Ids of tasks (of `types`, or of any) assigned to the pool that no worker holds
        yet."""
        ...

    def stats(self, now: datetime, tenant: str | None = None) -> dict[str, Any]:
        """The stats; with `tenant`, its task counts (the rest is the whole router's)."""
        ...

    def series(self, now: datetime, window_s: int, step_s: int) -> list[dict[str, Any]]:
        """Throughput and mean latency per step over the window ending at `now`."""
        ...

    def tenant_series(self, now: datetime, window_s: int, step_s: int) -> dict[str, Any]:
        """Each tenant's running tasks and share of the slots per step over the window
        ending at `now`."""
        ...

    def queue_size(self) -> int: ...

    def status_counts(self) -> dict[str, int]:
        """Tasks by status (statuses with none are left out)."""
        ...

    def trace_events_page(
        self,
        trace_id: str,
        after: int,
        limit: int,
        stream: str | None,
        type: str | None,
        correlation_id: str | None = None,
        tenant: str | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """Events recorded under a trace (OpenTelemetry), in position order, with the
        head; of a tenant's only, if given."""
        ...

    def trace_of(self, stream_id: str) -> TraceParent | None:
        """The span the stream's latest event of its own trace was recorded under (a
        task's trace is its submission's)."""
        ...

    def events_page(
        self,
        after: int,
        limit: int,
        stream: str | None,
        type: str | None,
        correlation_id: str | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """Events after a position (optionally of one stream, type or correlation id), and
        the log head."""
        ...

    def task_tenants(self, task_ids: Sequence[str]) -> dict[str, str]:
        """The tenant of each of these tasks that has a row."""
        ...

    def tenant_events_page(
        self,
        tenant: str,
        after: int,
        limit: int,
        stream: str | None,
        type: str | None,
        correlation_id: str | None = None,
    ) -> tuple[list[dict[str, Any]], int, int]:
        """One tenant's events after a position, looking through a bounded part of the log:
        (the page, the position it reached, the head)."""
        ...

    def stream_events(self, stream_id: str) -> list[dict[str, Any]]: ...

    def history(self, stream_id: str) -> list[RecordedEvent]:
        """A stream's events, decoded on use, in version order."""
        ...

    def decision_inputs(self, seen: int, before: int, run: str) -> list[tuple[PoolSnapshot, bytes]]:
        """The pools a scheduler run decided on (see DecisionRecord): as the log stood at
        `seen`, with a slot for each of the run's assignments in (seen, before); each with
        its hash (`pool_hash`), in registration order."""
        ...

    def logs(
        self, task_id: str | None, event_type: str | None, page: int, page_size: int
    ) -> tuple[list[dict[str, Any]], int]: ...

    def projection_positions(self) -> tuple[dict[str, int], int]:
        """Every projection's checkpoint and the log head, read at one moment."""
        ...

    def head(self) -> int: ...

    def check_after(self, after: int) -> None:
        """HistoryArchived if events after position `after` were archived and removed."""
        ...

    def active_algorithm(self) -> Algorithm: ...

    def ping(self) -> None:
        """Raise if the database cannot be reached."""
        ...


class TimeTravel(Protocol):
    """The read models as they were at a log position."""

    def head(self) -> int: ...

    def position_at(self, moment: datetime) -> int:
        """The newest position recorded at or before `moment` (0 if none)."""
        ...

    def task(self, task_id: str, position: int) -> dict[str, Any] | None: ...

    def pools(self, position: int) -> list[dict[str, Any]]: ...

    def tenants(self, position: int) -> list[dict[str, Any]]:
        """Each tenant's settings at the position (task counts None: not kept)."""
        ...

    def stats(self, position: int) -> dict[str, Any]: ...


class ReplaySource(Protocol):
    """What a what-if replay reads from the log."""

    def head(self) -> int: ...

    def up_to(self, position: int) -> "ReplayInputs":
        """Every task as it stood at `position`, and the pool changes until then."""
        ...
