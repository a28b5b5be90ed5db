"""The verifier process of a node served from two processes: `python -m
infrastructure.ipc.verifier_process FD`, started by the HTTP process.

It follows the log as the verifier of a one-process node does (every decision recomputed,
the invariants checked, the hash chain walked; see application.audit.continuous), reading
the database itself and looking for new events every POLL_S, and sends each result it
publishes. It runs at a lower priority (nice 10): the audit may lag under a load that
takes every core, never the commands; it catches up when the load eases. Like the writer
process it dies with the HTTP process, and stops when told or when the channel closes."""

import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

import structlog

from application.audit.continuous import ContinuousVerification
from application.commit_signal import CommitSignal
from infrastructure.clock import SystemClock, TimeOrderedIds
from infrastructure.ipc.channel import Channel, ChannelClosed
from infrastructure.ipc.children import attach
from infrastructure.sql import verify_in_parts
from infrastructure.sql.engine import create_engines
from infrastructure.sql.event_store import SqlEventStore

log = structlog.get_logger(__name__)

POLL_S = 0.25
NICENESS = 10


def main(argv: list[str]) -> int:
    attached = attach(argv)
    if attached is None:
        return 1
    channel, settings = attached.channel, attached.settings
    os.nice(NICENESS)
    engines = create_engines(
        settings.database_url, settings.sqlite_synchronous, settings.busy_timeout_ms
    )
    clock = SystemClock()
    signal = CommitSignal()
    store = SqlEventStore(  # read only here
        engines.write, engines.read, clock, TimeOrderedIds(clock), signal
    )
    reader = verify_in_parts.LogReader(engines.read)
    verifier = ContinuousVerification(
        store, reader, signal, clock, begin=lambda: reader.start().start()
    )
    stop = threading.Event()
    threading.Thread(target=_until_closed, args=(attached.messages, stop), daemon=True).start()
    verifier.start()
    try:
        _follow(store, signal, verifier, channel, stop)
    finally:
        verifier.stop()
        engines.dispose()
        channel.close()
    return 0


def _until_closed(messages: Iterator[Any], stop: threading.Event) -> None:
    for _ in messages:
        break  # STOP, or anything: stop
    stop.set()


def _follow(
    store: SqlEventStore,
    signal: CommitSignal,
    verifier: ContinuousVerification,
    channel: Channel,
    stop: threading.Event,
) -> None:
    """Wake the verifier when the log grows; send each new result."""
    sent = None
    while not stop.wait(POLL_S):
        try:
            signal.publish(store.head())
        except Exception as error:  # the database unreachable for a moment: next poll
            log.warning("verifier_process.poll_failed", error=str(error))
        latest = verifier.latest
        if latest is not None and latest is not sent:
            try:
                channel.send(latest)
            except ChannelClosed:
                return
            sent = latest


if __name__ == "__main__":
    sys.exit(main(sys.argv))
