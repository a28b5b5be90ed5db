"""The channel between a node's two processes, over a real socket pair: what is sent
arrives whole and in order, errors keep their class and fields, results keep their events,
and the writer side answers each message once its future settles."""

import pickle
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

import pytest

from application.commands.submit_task import SubmitTask
from application.commit_signal import CommitSignal
from application.errors import ConcurrencyConflict, ServiceOverloaded, StoreUnavailable
from application.idempotency import Outcome, Response
from application.messages import (
    CommandResult,
    EventMetadata,
    MessageContext,
    RecordedEvent,
)
from domain.errors import TaskInWrongState, TaskNotFound
from domain.values import TaskType
from infrastructure.ipc.channel import Channel, ChannelClosed, Failure
from infrastructure.ipc.protocol import CALL, COMMIT, FAIL, OK, ONCE, STOP, SUBMIT, Parts
from infrastructure.ipc.writer_host import WriterHost
from interfaces.http.idempotent import Answer, json_body
from interfaces.http.routes.tasks import _submitted, _TaskAfter
from tests.builders import task_queued

CONTEXT = MessageContext("req-1", None, "api")


@pytest.fixture
def ends() -> Iterator[tuple[Channel, Channel]]:
    one, other = socket.socketpair()
    left, right = Channel(one), Channel(other)
    yield left, right
    left.close()
    right.close()


def recorded() -> RecordedEvent:
    event = task_queued("t1")
    metadata = EventMetadata("e1", "req-1", None, "api", datetime(2026, 1, 1, tzinfo=UTC))
    return RecordedEvent.of(7, "task-t1", 1, event, metadata, {"task_id": "t1", "n": 1})


@pytest.mark.parametrize(
    "error",
    [
        TaskNotFound("t1"),
        TaskInWrongState("t1", "queued", "complete"),
        ConcurrencyConflict("task-t1", 1, 2),
        ServiceOverloaded("10000 commands are waiting; retry"),
        StoreUnavailable("database is locked"),
    ],
)
def test_an_error_arrives_as_its_class_with_its_fields(error: Exception) -> None:
    sent = pickle.loads(pickle.dumps(Failure.of(error))).error()
    assert type(sent) is type(error)
    assert str(sent) == str(error)
    assert vars(sent) == vars(error)


def test_an_error_that_cannot_be_sent_arrives_as_what_it_said() -> None:
    error = TaskNotFound("t1")
    error.lock = threading.Lock()  # type: ignore[attr-defined]
    sent = Failure.of(error).error()
    assert isinstance(sent, RuntimeError)
    assert str(sent) == "TaskNotFound: task t1 does not exist"


def test_a_recorded_event_travels_decoded() -> None:
    original = recorded()
    copy = pickle.loads(pickle.dumps(CommandResult("t1", (original,)))).recorded[0]
    assert (copy.position, copy.stream_id, copy.version, copy.type) == (
        7,
        "task-t1",
        1,
        "TaskQueued",
    )
    assert copy.event == original.event
    assert copy.data == {"task_id": "t1", "n": 1}
    assert copy.metadata == original.metadata


def test_the_renders_routes_send_to_the_writer_can_be_sent() -> None:
    for render in (_submitted, _TaskAfter("t1"), Answer(json_body(200, {"ok": True}))):
        assert pickle.loads(pickle.dumps(render)) == render


def test_messages_arrive_whole_and_in_order(ends: tuple[Channel, Channel]) -> None:
    left, right = ends
    big = b"x" * (3 * 1024 * 1024)  # several reads' worth

    def send() -> None:
        for n in range(200):
            left.send([(n, big if n % 50 == 0 else b"small")])
        left.close()

    thread = threading.Thread(target=send)
    thread.start()
    received = list(right.messages())
    thread.join()
    assert [message[0][0] for message in received] == list(range(200))
    assert received[50][0][1] == big
    with pytest.raises(ChannelClosed):
        left.send(["after close"])


class FakeSender:
    """Commands settle when the test says so."""

    def __init__(self) -> None:
        self.futures: list[Future[Any]] = []

    def submit(self, command: Any, context: MessageContext) -> "Future[Any]":
        future: Future[Any] = Future()
        self.futures.append(future)
        return future


class FakeIdempotent:
    def submit_once(self, *args: Any) -> "Future[Outcome]":
        self.args = args
        done: Future[Outcome] = Future()
        done.set_result(Outcome(Response(201, b"{}"), replayed=True))
        return done


class Node:
    def health(self) -> dict[str, str]:
        return {"status": "healthy"}


def test_the_writer_side_answers_once_each_future_settles(ends: tuple[Channel, Channel]) -> None:
    front, back = ends
    sender, idempotent, signal = FakeSender(), FakeIdempotent(), CommitSignal()
    host = WriterHost(Parts(sender, idempotent, {"node": Node(), "verifier": None}), back)
    serving = threading.Thread(target=host.serve, args=(back.messages(), signal.subscribe))
    serving.start()
    replies = front.messages()
    command = SubmitTask(TaskType.ORDER, 5, 1.0, "us-east")
    front.send(
        [
            (SUBMIT, 1, command, CONTEXT),
            (SUBMIT, 2, command, CONTEXT),
            (ONCE, 3, "key", "fingerprint", command, CONTEXT, _submitted),
            (CALL, 4, "node", "health", ()),
            (CALL, 5, "node", "stop", ()),
            (CALL, 6, "verifier", "wait_for_first", (1.0,)),
        ]
    )
    answers = {item[1]: item for item in _items(replies, 4)}
    assert answers[3][2] == Outcome(Response(201, b"{}"), replayed=True)
    assert idempotent.args[:2] == ("key", "fingerprint")
    assert idempotent.args[4] is _submitted
    assert answers[4] == (OK, 4, {"status": "healthy"})
    assert answers[5][0] == FAIL
    assert "no call node.stop" in str(answers[5][2].error())
    assert answers[6][0] == FAIL  # a part the writer process does not have

    sender.futures[1].set_exception(TaskNotFound("t9"))
    sender.futures[0].set_result(CommandResult("t1", (recorded(),)))
    signal.publish(1)
    later = _items(replies, 3)
    assert later[0][0] == FAIL
    assert isinstance(later[0][2].error(), TaskNotFound)
    assert later[1][:2] == (OK, 1)
    assert later[1][2].recorded[0].data["task_id"] == "t1"
    assert later[2] == (COMMIT,)

    front.send([(STOP,)])
    serving.join(5)
    assert not serving.is_alive()
    host.close()


def _items(replies: Iterator[list[tuple[Any, ...]]], count: int) -> list[tuple[Any, ...]]:
    items: list[tuple[Any, ...]] = []
    while len(items) < count:
        items += next(replies)
    return items
