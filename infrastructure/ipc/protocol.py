"""What the two processes of a node say to each other: lists of messages, each list one
frame.

From the HTTP process: (SUBMIT, call, command, context), (ONCE, call, key, fingerprint,
command, context, render), (CALL, call, part, method, args), (STOP,). From the writer
process, lists of: (OK, call, value), (FAIL, call, Failure), (COMMIT,). At start the HTTP
process sends the settings, and the writer process answers (READY, facts) or (FAILED,
message)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from application.ports import CommandSender
from application.service import IdempotentCommands

SUBMIT, ONCE, CALL, STOP = "submit", "once", "call", "stop"
OK, FAIL, COMMIT = "ok", "fail", "commit"
READY, FAILED = "ready", "failed"

CALLS: Mapping[str, frozenset[str]] = {
    "node": frozenset({"health", "readiness", "scheduler_runtime", "metrics_exposition"}),
    "projections": frozenset({"names", "rebuilding", "status", "start_rebuild"}),
}
"""The operational calls the HTTP process may make, by part of the node."""


class UnknownCall(Exception):
    pass


@dataclass(frozen=True)
class Parts:
    """What the writer process serves."""

    sender: CommandSender
    idempotent: IdempotentCommands
    targets: Mapping[str, object]

    def call(self, part: str, method: str, args: tuple[Any, ...]) -> Any:
        if method not in CALLS.get(part, ()) or self.targets.get(part) is None:
            raise UnknownCall(f"the writer process serves no call {part}.{method}")
        return getattr(self.targets[part], method)(*args)
