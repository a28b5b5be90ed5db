"""Commands sent with an Idempotency-Key: run once, answered alike when repeated within the
time to live. The key, the rendered answer and the command's events commit together, on
the single writer, in the lane the command's kind calls for."""

from concurrent.futures import Future
from dataclasses import dataclass
from datetime import timedelta

from application.bus import CommandBus
from application.idempotency import Outcome, Render, Response, once
from application.lanes import lane_of
from application.messages import Command, MessageContext
from application.ports import Clock
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

    def submit_once(
        self,
        key: str,
        fingerprint: str,
        command: Command,
        context: MessageContext,
        render: Render,
    ) -> "Future[Outcome]":
        records = SqlIdempotencyRecords(self.store)

        def act() -> Response:
            return render(self.bus.handle(command, context), self.store.read_stream)

        return self.sender.run(
            lambda: once(records, self.clock, self.ttl, key, fingerprint, act),
            lane_of(command),
            batchable=True,
        )
