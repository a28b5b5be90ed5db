"""The log as Server-Sent Events: every event after a position, then each new one as it
commits. An event's SSE `id` is its global position, so a client that reconnects with
`Last-Event-ID` resumes exactly after the last event it got: nothing lost, nothing twice.
While the log is quiet a comment line keeps the connection alive; the stream ends when the
client goes away, or when the server is closing (after what it had to send).

Streams take new events from the one shared reader (`LogFanout`), and replay older ones
from the database at its pace. Open streams are capped in all and per API key
(`StreamSlots`)."""

import asyncio
import threading
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool

from application import tenant_privacy
from application.ports import ReadModel
from domain.task import task_stream
from domain.tenant import tenant_stream
from interfaces.http.closing import Closing
from interfaces.http.log_fanout import (
    PAGE,
    Frame,
    LogFanout,
    Page,
    chunks,
    frame,
    read_past_damage,
)

RETRY_MS = 1000
"""How long a disconnected client should wait before reconnecting."""


class TooManyStreams(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


@dataclass
class StreamSlots:
    """Open streams: at most `total`, and at most `per_key` for one API key (without keys
    only the total applies)."""

    total: int
    per_key: int
    _open: dict[str | None, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def open(self) -> int:
        return sum(self._open.values())

    def take(self, key: str | None) -> Callable[[], None]:
        """A slot for `key`'s stream, or TooManyStreams; returns its (idempotent) release."""
        with self._lock:
            if self.open >= self.total:
                raise TooManyStreams(
                    503, f"the server holds its limit of {self.total} open event streams"
                )
            if key is not None and self._open.get(key, 0) >= self.per_key:
                raise TooManyStreams(
                    429, f"this API key holds its limit of {self.per_key} open event streams"
                )
            self._open[key] = self._open.get(key, 0) + 1
        released = threading.Event()

        def release() -> None:
            with self._lock:
                if released.is_set():
                    return
                released.set()
                self._open[key] -= 1
                if not self._open[key]:
                    del self._open[key]

        return release


def page_reader(reads: ReadModel, ask: "StreamAsk") -> Callable[[int], Page]:
    stream, type, tenant = ask.stream, ask.type, ask.tenant
    if tenant is not None:

        def read_tenant(after: int) -> Page:
            events, reached, _ = reads.tenant_events_page(tenant, after, PAGE, stream, type)
            if ask.reader is not None:
                events = [tenant_privacy.event_view_for(e, ask.reader) for e in events]
            return Page([frame(event) for event in events], max(after, reached))

        return read_tenant

    def read_page(after: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        return reads.events_page(after, limit, stream, type)

    def read(after: int) -> Page:
        events, head = read_past_damage(read_page, after, PAGE)
        full = len(events) == PAGE or head is None
        # a short page holds every match up to the head it was read with
        reached = events[-1]["position"] if full else max(after, head or 0)
        return Page([frame(event) for event in events], reached)

    return read


@dataclass(frozen=True)
class StreamAsk:
    """What a client asked to follow: the events after a position, of one stream, one type
    and one tenant if it says so, with a ping every `ping_s` while quiet."""

    after: int
    stream: str | None
    type: str | None
    ping_s: float
    tenant: str | None = None
    reader: str | None = None
    """The tenant the reading key is bound to, if any: the other tenants its events name
    are cut out (`application.tenant_privacy`)."""

    def wants(self, held: Frame) -> bool:
        return (self.stream is None or held.stream_id == self.stream) and (
            self.type is None or held.type == self.type
        )


def events_after(
    fanout: LogFanout,
    reads: ReadModel,
    ask: StreamAsk,
    closing: Closing,
    release: Callable[[], None],
) -> AsyncIterator[bytes]:
    """The stream's body; `release` frees its slot when it ends, or when it is dropped
    without having started (a client gone before the first byte)."""
    tenants = None if ask.tenant is None else TenantsOf(reads, ask.tenant)
    body = _follow(fanout, page_reader(reads, ask), ask, closing, release, tenants)
    weakref.finalize(body, release)
    return body


TENANTS_KEPT = 10_000
"""Tasks whose tenant a stream following one tenant remembers (then it forgets them all)."""


class TenantsOf:
    """For a stream following one tenant: which of the shared frames are that tenant's (its
    tasks' events, found by their task rows, and its own stream's), the tenants of the
    tasks it has met remembered."""

    def __init__(self, reads: ReadModel, tenant: str) -> None:
        self._reads = reads
        self._tenant = tenant
        self._own = tenant_stream(tenant)
        self._known: dict[str, str] = {}

    def keep(self, frames: list[Frame]) -> list[Frame]:
        unknown = {
            task_id
            for held in frames
            if (task_id := _task_of(held.stream_id)) is not None and task_id not in self._known
        }
        if unknown:
            if len(self._known) + len(unknown) > TENANTS_KEPT:
                self._known.clear()
            self._known.update(self._reads.task_tenants(sorted(unknown)))
        return [held for held in frames if self._theirs(held.stream_id)]

    def _theirs(self, stream_id: str) -> bool:
        task_id = _task_of(stream_id)
        if task_id is not None:
            return self._known.get(task_id) == self._tenant
        return stream_id == self._own


TASK_STREAM = task_stream("")
NAMING_OTHERS = frozenset({"TaskPreempted", "WorkerAssigned", "TaskDeferred"})
"""The event types that may name another tenant (a preemption's beneficiary, a stage)."""


def _readable(held: Frame, reader: str | None) -> bytes:
    """A shared frame as a key bound to `reader` may read it (the same bytes, unless the
    event names another tenant)."""
    if reader is None or held.type not in NAMING_OTHERS:
        return held.data
    body = held.data[held.data.index(b"data: ") + len(b"data: ") :].rstrip(b"\n")
    return frame(tenant_privacy.event_view_for(orjson.loads(body), reader))


def _task_of(stream_id: str) -> str | None:
    """The task a stream is of (None: not a task's)."""
    return stream_id[len(TASK_STREAM) :] if stream_id.startswith(TASK_STREAM) else None


async def _follow(
    fanout: LogFanout,
    read: Callable[[int], Page],
    ask: StreamAsk,
    closing: Closing,
    release: Callable[[], None],
    tenants: "TenantsOf | None" = None,
) -> AsyncIterator[bytes]:
    woken = await fanout.subscribe()
    try:
        yield f"retry: {RETRY_MS}\n\n".encode()
        position = ask.after
        while True:  # until the client goes: Starlette then cancels this generator
            woken.clear()
            frames = fanout.frames_after(position)
            if frames is None:
                page = await fanout.replay(position, read)
                position = page.reached
                for chunk in chunks(page.frames):
                    yield chunk
                continue
            if frames:
                position = frames[-1].position
                wanted = [held for held in frames if ask.wants(held)]
                if tenants is not None:
                    wanted = await run_in_threadpool(tenants.keep, wanted)
                for chunk in chunks(_readable(held, ask.reader) for held in wanted):
                    yield chunk
                continue
            if closing.announced:
                return
            try:
                await asyncio.wait_for(woken.wait(), ask.ping_s)
            except TimeoutError:
                yield b": ping\n\n"
    finally:
        fanout.unsubscribe(woken)
        release()
