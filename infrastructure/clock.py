"""The real clock and id generator (tests inject fakes or a seeded generator)."""

import random
import uuid
from datetime import UTC, datetime

from application.ordered_ids import uuid7
from application.ports import Clock


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class RandomIds:
    """UUID4s from a seedable generator, so a seeded run is reproducible. Unseeded, it is
    seeded from the OS once: ids need to be unique, not unguessable."""

    def __init__(self, seed: int | None = None) -> None:
        self._random = random.Random(seed)

    def new_id(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))


class TimeOrderedIds:
    """UUIDv7s (RFC 9562): the first 48 bits are the clock's Unix time in milliseconds,
    the other 74 (beside version and variant) random, from a seedable generator.

    Ids made close in time sort close together, so each B-tree index keyed by them (the
    events' stream and correlation ids, the tasks' ids) takes new keys on its last few
    pages, which one group commit shares, instead of a random page per key. Measured on
    the two-process server at 64 connections: 1,891-1,924 -> 2,255-2,329 submissions/s,
    CPU per request 711 -> 630 µs (the WAL gets far fewer pages per commit)."""

    def __init__(self, clock: Clock, seed: int | None = None) -> None:
        self._clock = clock
        self._random = random.Random(seed)

    def new_id(self) -> str:
        return uuid7(int(self._clock.now().timestamp() * 1000), self._random.getrandbits(80))
