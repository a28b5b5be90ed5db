"""Messages between the two processes of a node: pickled, each framed by its length, over
a stream socket both ends inherited (a socket pair: no path another user could connect to).

Errors cross as their class, arguments and attributes (`Failure`), since many exceptions
cannot be rebuilt from their arguments alone."""

import contextlib
import pickle
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

HEADER = struct.Struct("!I")
READ_SIZE = 1 << 16


class ChannelClosed(Exception):
    """The other process closed its end (or exited)."""


@dataclass(frozen=True)
class Failure:
    """An exception, as sent: raise `error()` on the receiving side."""

    kind: type[BaseException]
    args: tuple[Any, ...]
    state: dict[str, Any]

    @staticmethod
    def of(error: BaseException) -> "Failure":
        failure = Failure(type(error), error.args, dict(vars(error)))
        try:
            pickle.dumps(failure, pickle.HIGHEST_PROTOCOL)
        except Exception:  # an attribute that cannot be sent: send what it said
            return Failure(RuntimeError, (f"{type(error).__name__}: {error}",), {})
        return failure

    def error(self) -> BaseException:
        error = self.kind.__new__(self.kind)
        error.args = self.args
        vars(error).update(self.state)
        return error


class Channel:
    """One end of the socket: `send` from any thread, `messages` on one reading thread."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._sending = threading.Lock()

    def send(self, message: Any) -> None:
        data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
        try:
            with self._sending:
                self._sock.sendall(HEADER.pack(len(data)) + data)
        except OSError as error:
            raise ChannelClosed(str(error)) from error

    def messages(self) -> Iterator[Any]:
        """Every message received, until the other end closes."""
        buffer = bytearray()
        start = 0
        while True:
            try:
                chunk = self._sock.recv(READ_SIZE)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while len(buffer) - start >= HEADER.size:
                (size,) = HEADER.unpack_from(buffer, start)
                end = start + HEADER.size + size
                if len(buffer) < end:
                    break
                yield pickle.loads(buffer[start + HEADER.size : end])
                start = end
            if start:
                del buffer[:start]
                start = 0

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
