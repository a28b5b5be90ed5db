"""Waiting for the log to grow from the event loop: the commit signal (set on the thread
that committed) seen as an asyncio event. Mark before reading the log, then wait: a commit
that lands between the read and the wait still wakes the waiter. The server's closing wakes
it too, for good: a waiter then stops waiting."""

import asyncio
import contextlib
from types import TracebackType

from application.service import CommitSource
from interfaces.http.closing import Closing


class CommitWaits:
    def __init__(self, commits: CommitSource, closing: Closing) -> None:
        self._commits = commits
        self._closing = closing
        self._woken = asyncio.Event()

    def __enter__(self) -> "CommitWaits":
        loop = asyncio.get_running_loop()

        def wake() -> None:  # on the committing thread
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(self._woken.set)

        self._unsubscribe = self._commits.subscribe_commits(wake)
        self._unsubscribe_closing = self._closing.subscribe(wake)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._unsubscribe()
        self._unsubscribe_closing()

    @property
    def closing(self) -> bool:
        """The server is going away: stop waiting and finish the response."""
        return self._closing.announced

    def mark(self) -> None:
        """Forget the commits so far: call just before reading the log."""
        if not self.closing:
            self._woken.clear()

    async def wait(self, timeout: float) -> bool:
        """True when a commit came since `mark`, False when `timeout` passed first."""
        try:
            await asyncio.wait_for(self._woken.wait(), timeout)
        except TimeoutError:
            return False
        return True
