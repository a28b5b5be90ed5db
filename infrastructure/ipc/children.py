"""Starting a node's helper processes (the writer process, the verifier process): each a
`python -m MODULE FD` with its end of a socket pair as FD, in a session of its own (a
terminal's Ctrl-C reaches only the HTTP process, which stops them), told which process must
outlive it (see `dies_with_parent`), and sent the settings first."""

import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from infrastructure.ipc.channel import Channel
from infrastructure.settings import Settings

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


def dies_with_parent() -> bool:
    """In the child: ask Linux to kill this process when its parent dies; False if it
    already has."""
    name = ctypes.util.find_library("c")
    prctl = getattr(ctypes.CDLL(name), "prctl", None) if name else None
    if prctl is not None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    parent = os.environ.get(PARENT_PID)
    return parent is None or os.getppid() == int(parent)
