"""The HTTP process's side of the verifier process: starts it, keeps the latest result it
sent, and answers GET /audit/verify from it (a LatestVerification)."""

import subprocess
import threading
from typing import Any

import structlog

from application.audit.continuous import Verified
from infrastructure.ipc import children
from infrastructure.ipc.channel import Channel
from infrastructure.settings import Settings

log = structlog.get_logger(__name__)


class VerifierLink:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._latest: Verified | None = None
        self._first = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: Channel | None = None
        self._reader: threading.Thread | None = None
        self._stopping = False

    def start(self) -> None:
        self._process, self._channel = children.spawn(
            "infrastructure.ipc.verifier_process", self._settings
        )
        self._reader = threading.Thread(
            target=self._read, args=(self._channel.messages(),), name="verifier-link", daemon=True
        )
        self._reader.start()

    def wait_for_first(self, timeout_s: float) -> Verified | None:
        """The latest result, waiting up to `timeout_s` for the first."""
        self._first.wait(timeout_s)
        return self._latest

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping = True
        process, channel = self._process, self._channel
        if process is None or channel is None:
            return
        children.stop(process, channel, timeout_s)

    def _read(self, messages: Any) -> None:
        for verified in messages:
            self._latest = verified
            self._first.set()
        if not self._stopping:
            code = None if self._process is None else self._process.poll()
            log.error("verifier_process.lost", code=code)
