"""The real clock and id generator (tests inject fakes or a seeded generator)."""

import random
import uuid
from datetime import UTC, datetime


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
