"""Walking the hash chain: every stored event carries a SHA-256 over its stored values and
the hash of the event before it (how a row is hashed is the store's: `Linked.link`). The
walk recomputes each hash in position order and stops at the first break, so it can run in
the same pass as the rest of verification, one event at a time."""

from dataclasses import dataclass
from typing import Protocol

GENESIS = "0" * 64
"""The hash before the first event."""


@dataclass(frozen=True)
class ChainReport:
    checked: int
    """Events whose hash was recomputed and matched, counted from position 1."""
    head_hash: str
    """The hash of the last of them (GENESIS before any)."""
    first_broken: int | None
    problem: str | None


class Linked(Protocol):
    @property
    def position(self) -> int: ...

    @property
    def hash(self) -> str:
        """The hash stored with the event."""
        ...

    def link(self, previous: str) -> str:
        """The event's hash recomputed from its stored values after `previous`."""
        ...


class ChainWalk:
    """The chain walked event by event from position 1 (or on from `after`, whose hash is
    `previous`); after the first break the rest passes unchecked."""

    def __init__(self, after: int = 0, previous: str = GENESIS) -> None:
        self._checked = after
        self._previous = previous
        self._broken: int | None = None
        self._problem: str | None = None

    def step(self, event: Linked) -> None:
        if self._broken is not None:
            return
        expected = self._checked + 1
        if event.position != expected:
            self._break(expected, f"position {expected} is missing")
            return
        recomputed = event.link(self._previous)
        if recomputed != event.hash:
            self._break(
                expected,
                f"event at position {expected} does not match its hash "
                "(altered, or moved from another position)",
            )
            return
        self._checked, self._previous = expected, recomputed

    def _break(self, position: int, problem: str) -> None:
        self._broken, self._problem = position, problem

    @property
    def report(self) -> ChainReport:
        return ChainReport(self._checked, self._previous, self._broken, self._problem)
