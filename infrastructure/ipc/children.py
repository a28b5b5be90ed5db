"""Starting and stopping a node's helper processes (the writer process, the verifier
process): each a `python -m MODULE FD` with its end of a socket pair as FD, in a session of
its own (a terminal's Ctrl-C reaches only the HTTP process, which stops them), told which
process must outlive it (see `attach`), and sent the settings first."""

import contextlib
import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from infrastructure.ipc.channel import Channel, ChannelClosed
from infrastructure.ipc.protocol import STOP
from infrastructure.settings import Settings
from infrastructure.structured_logging import configure_logging

log = structlog.get_logger(__name__)

SOCKET_BUFFER_BYTES = 4 * 1024 * 1024
PARENT_PID = "TASKROUTERX_PARENT_PID"
ROOT = Path(__file__).resolve().parents[2]
PR_SET_PDEATHSIG = 1


def spawn(module: str, settings: Settings) -> tuple["subprocess.Popen[bytes]", Channel]:
    """Start `module` as a child; the channel to it, the settings already sent."""
    ours, theirs = socket.socketpair()
    for end in (ours, theirs):
        end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER_BYTES)
        end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER_BYTES)
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    process = subprocess.Popen(
        [sys.executable, "-m", module, str(theirs.fileno())],
        pass_fds=(theirs.fileno(),),
        start_new_session=True,
        env={**os.environ, PARENT_PID: str(os.getpid()), "PYTHONPATH": path},
    )
    theirs.close()
    channel = Channel(ours)
    channel.send(settings)
    return process, channel


def stop(process: "subprocess.Popen[bytes]", channel: Channel, timeout_s: float) -> None:
    """Tell the child to stop and wait for it to exit; killed if it does not in time."""
    with contextlib.suppress(ChannelClosed):
        channel.send([(STOP,)])
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        log.error("child_process.kill", pid=process.pid, waited_s=timeout_s)
        process.kill()
        process.wait()
    channel.close()


@dataclass(frozen=True)
class Attached:
    """A child's end: the socket, the channel on it, the messages after the settings."""

    sock: socket.socket
    channel: Channel
    messages: Iterator[Any]
    settings: Settings


def attach(argv: list[str]) -> Attached | None:
    """In the child: the channel inherited as `argv[1]` and the settings sent first, with
    logging configured by them, and this process set to die with its parent; None if the
    parent is already gone or sent no settings."""
    sock = socket.socket(fileno=int(argv[1]))
    if not _dies_with_parent():
        return None
    channel = Channel(sock)
    messages = channel.messages()
    settings = next(messages, None)
    if not isinstance(settings, Settings):
        return None
    configure_logging(settings.log_format, settings.log_level)
    return Attached(sock, channel, messages, settings)


def _dies_with_parent() -> bool:
    """Ask Linux to kill this process when its parent dies; False if it already has."""
    name = ctypes.util.find_library("c")
    prctl = getattr(ctypes.CDLL(name), "prctl", None) if name else None
    if prctl is not None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    parent = os.environ.get(PARENT_PID)
    return parent is None or os.getppid() == int(parent)
