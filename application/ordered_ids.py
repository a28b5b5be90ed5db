"""UUIDv7s (RFC 9562): ids that sort by the time they were made (see
infrastructure.clock.TimeOrderedIds for why)."""

import random
import time
import uuid


def uuid7(unix_ms: int, random_bits: int) -> str:
    """The UUIDv7 of a time in milliseconds and 80 random bits (6 of them overwritten by
    the version and the variant)."""
    value = (unix_ms & 0xFFFF_FFFF_FFFF) << 80 | random_bits & (1 << 80) - 1
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # variant RFC 9562
    return str(uuid.UUID(int=value))


def uuid7_now(generator: random.Random) -> str:
    return uuid7(time.time_ns() // 1_000_000, generator.getrandbits(80))
