"""The writer process of a node served from two processes (`taskrouterx serve --processes
2`): `python -m infrastructure.ipc.writer_process FD`, started by the HTTP process with its
end of a socket pair as FD.

It builds and starts the node as one process would (the single writer, the scheduler, the
timekeeper, the simulated workers, retention), minus the HTTP server and the verifier that
follows the log (each in a process of its own), and serves the HTTP process's commands
until it says stop, goes away, or this process gets SIGTERM. It dies with the HTTP
process: a node is never half alive, and a restarted server never finds an old writer
still at work on the database."""

import contextlib
import os
import signal
import socket
import sys
from types import FrameType

import structlog

from infrastructure.bootstrap import bootstrap
from infrastructure.ipc.children import attach
from infrastructure.ipc.protocol import FAILED, READY, Parts
from infrastructure.ipc.writer_host import WriterHost
from infrastructure.runtime import tune_garbage_collector

log = structlog.get_logger(__name__)


def main(argv: list[str]) -> int:
    attached = attach(argv)
    if attached is None:
        return 1
    channel, settings = attached.channel, attached.settings
    try:
        router = bootstrap(settings)
        router.start()
    except Exception as error:
        log.error("writer_process.start_failed", error=str(error))
        channel.send((FAILED, f"{type(error).__name__}: {error}"))
        return 1
    tune_garbage_collector()
    parts = {"node": router, "projections": router.projections}
    host = WriterHost(Parts(router.sender, router.idempotent, parts), channel)
    signal.signal(signal.SIGTERM, _stop_reading(attached.sock))
    channel.send((READY, {"pid": os.getpid(), "head": router.store.head()}))
    try:
        host.serve(attached.messages, router.subscribe_commits)
    finally:
        router.stop()
        host.close()
        channel.close()
    return 0


def _stop_reading(sock: socket.socket) -> "signal._HANDLER":
    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("writer_process.sigterm")
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RD)  # the read loop ends; outcomes still go out

    return stop


if __name__ == "__main__":
    sys.exit(main(sys.argv))
