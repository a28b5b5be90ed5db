"""One reader of the log for every open event stream.

While any stream is open, one task follows the log: woken by commits (at most every
`FOLLOW_EVERY_S`), it reads what was committed (one query, however many streams are
open), frames each event once as SSE, and keeps the newest `RING` frames in memory; then
it wakes the streams, which take their new frames from there and filter them by stream
and type in memory. When the last stream
closes, the reader stops and the frames go.

A stream whose position is older than the frames held (a client resuming from far back,
or one too slow to keep up) replays from the database instead, in pages of `PAGE` events,
at most `REPLAY_PAGES_PER_S` pages a second over all streams, so replays cannot crowd out
the rest of the API; once it reaches the frames held it follows them like the others.
"""

import asyncio
import bisect
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

import orjson
from starlette.concurrency import run_in_threadpool

from application.errors import CorruptEvent
from application.service import TaskRouterService
from interfaces.http.closing import Closing
from interfaces.http.commit_waits import CommitWaits

RING = 4096
PAGE = 500
REPLAY_PAGES_PER_S = 20.0
RELEASE_EVERY_S = 10.0
WAKE_AT_ONCE = 25
FOLLOW_EVERY_S = 0.05
"""The reader reads at most this often: the commits of that time go to the streams in one
wake-up (a stream's events arrive up to this much later, each stream far less often
woken)."""


class Frame(NamedTuple):
    position: int
    stream_id: str
    type: str
    data: bytes


def frame(event: dict[str, Any]) -> bytes:
    return (
        f"id: {event['position']}\nevent: {event['type']}\ndata: ".encode()
        + orjson.dumps(event)
        + b"\n\n"
    )


class Page(NamedTuple):
    """Events read from the database: their frames and the position they reach."""

    frames: list[bytes]
    reached: int


CHUNK_BYTES = 65_536
"""Frames are sent in chunks of about this size: a slow client makes the server hold one
chunk beyond the transport's buffer, not a whole page of the log."""


def chunks(frames: Iterable[bytes]) -> Iterator[bytes]:
    batch: list[bytes] = []
    size = 0
    for data in frames:
        batch.append(data)
        size += len(data)
        if size >= CHUNK_BYTES:
            yield b"".join(batch)
            batch, size = [], 0
    if batch:
        yield b"".join(batch)


class LogFanout:
    def __init__(
        self,
        service: TaskRouterService,
        closing: Closing,
        release_memory: Callable[[], None] = lambda: None,
    ) -> None:
        self._service = service
        self._closing = closing
        self._release_memory = release_memory
        self._released_at = 0.0
        self._frames: list[Frame] = []
        self.head = 0
        """The position the frames reach."""
        self._woken: set[asyncio.Event] = set()
        self._reader: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()
        self._replaying = asyncio.Lock()
        self._next_replay = 0.0

    @property
    def following(self) -> bool:
        return self._reader is not None and not self._reader.done()

    async def subscribe(self) -> asyncio.Event:
        """An event set whenever new frames arrive (or the server closes)."""
        woken = asyncio.Event()
        self._woken.add(woken)
        async with self._starting:
            if not self.following:
                self.head = await run_in_threadpool(self._service.read_model.head)
                self._frames = []
                self._reader = asyncio.create_task(self._follow(), name="log-fanout")
        return woken

    def unsubscribe(self, woken: asyncio.Event) -> None:
        """A stream ended. The last one stops the reader; and at most every
        `RELEASE_EVERY_S`, an ending stream has the freed memory given back."""
        self._woken.discard(woken)
        if not self._woken and self._reader is not None:
            self._reader.cancel()
            self._reader = None
            self._frames = []
        now = time.monotonic()
        if now - self._released_at >= RELEASE_EVERY_S or not self._woken:
            self._released_at = now
            self._release_memory()

    def frames_after(self, position: int) -> list[Frame] | None:
        """The frames after `position` up to the head; None if they are no longer held."""
        if position >= self.head:
            return []
        frames = self._frames
        if not frames or position < frames[0].position - 1:
            return None
        return frames[bisect.bisect_right(frames, position, key=_position) :]

    async def replay(self, after: int, read: "Reader") -> Page:
        """One page of events after `after` from the database, paced over all streams."""
        async with self._replaying:
            wait = self._next_replay - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            page = await run_in_threadpool(read, after)
            self._next_replay = time.monotonic() + 1 / REPLAY_PAGES_PER_S
        return page

    async def _follow(self) -> None:
        read = self._service.read_model.events_page
        with CommitWaits(self._service, self._closing) as commits:
            while True:
                await asyncio.sleep(FOLLOW_EVERY_S)  # commits meanwhile go out together
                commits.mark()
                events, head = await run_in_threadpool(
                    read_past_damage, lambda after, limit: read(after, limit, None, None),
                    self.head, PAGE,
                )  # fmt: skip
                if events:
                    self._keep(
                        [Frame(e["position"], e["stream_id"], e["type"], frame(e)) for e in events]
                    )
                    self.head = events[-1]["position"]
                    await self._wake()
                if len(events) == PAGE or head is None:
                    continue
                if commits.closing:
                    await self._wake()
                    return
                await commits.wait(60)

    def _keep(self, frames: list[Frame]) -> None:
        self._frames.extend(frames)
        excess = len(self._frames) - RING
        if excess > RING // 4:  # trim in steps, not on every batch
            del self._frames[:excess]

    async def _wake(self) -> None:
        """Wake the streams `WAKE_AT_ONCE` at a time, letting the event loop answer other
        requests between them, so 500 streams add a few milliseconds to a request at
        worst, not the time all of them take."""
        for count, woken in enumerate(list(self._woken), start=1):
            woken.set()
            if count % WAKE_AT_ONCE == 0:
                await asyncio.sleep(0)


def read_past_damage(
    read: Callable[[int, int], tuple[list[dict[str, Any]], int]], after: int, limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    """A page of events after `after` and the head it was read with. Where a stored row
    cannot be read, the rows before it come one at a time, then the damaged row as a
    `CorruptEvent` naming its position (the head is then None: read on), so a stream
    neither stops nor skips silently."""
    try:
        return read(after, limit)
    except CorruptEvent:
        pass
    try:
        return read(after, 1)[0], None
    except CorruptEvent as damaged:
        marker = {
            "position": damaged.position,
            "stream_id": damaged.stream_id,
            "type": "CorruptEvent",
            "detail": str(damaged),
        }
        return [marker], None


def _position(held: Frame) -> int:
    return held.position


Reader = Callable[[int], Page]
"""Reads one page after a position (on a worker thread)."""
