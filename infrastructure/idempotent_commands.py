"""Commands sent with an Idempotency-Key: run once, answered alike when repeated within the
time to live. The key, the rendered answer and the command's events commit together, on
the single writer, in the lane the command's kind calls for."""

from concurrent.futures import Future
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from application.bus import CommandBus
from application.idempotency import Outcome, Render, Response, once
from application.lanes import lane_of
from application.messages import Command, MessageContext, RecordedEvent
from application.ports import Clock, ReadModel
from infrastructure.single_writer import SingleWriter
from infrastructure.sql.event_store import SqlEventStore
from infrastructure.sql.idempotency import SqlIdempotencyRecords


@dataclass(frozen=True)
class IdempotentCommands:
    store: SqlEventStore
    bus: CommandBus
    sender: SingleWriter
    clock: Clock
    ttl: timedelta
    reads: ReadModel

    def submit_once(
        self,
        key: str,
        fingerprint: str,
        command: Command,
        context: MessageContext,
        render: Render,
    ) -> "Future[Outcome]":
        records = SqlIdempotencyRecords(self.store)
        sources = _WriterSources(self.store, self.reads)

        def act() -> Response:
            return render(self.bus.handle(command, context), sources)

        return self.sender.run(
            lambda: once(records, self.clock, self.ttl, key, fingerprint, act),
            lane_of(command),
            batchable=True,
        )


@dataclass(frozen=True)
class _WriterSources:
    """Streams as the writer sees them (this transaction's events too), rows as committed."""

    store: SqlEventStore
    reads: ReadModel

    def history(self, stream_id: str) -> list[RecordedEvent]:
        return self.store.read_stream(stream_id)

    def task_row(self, task_id: str) -> dict[str, Any] | None:
        return self.reads.task_row(task_id)
