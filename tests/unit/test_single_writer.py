"""The single writer: one thread, system lane first, bounded client lane."""

import threading

import pytest

from application.errors import ServiceOverloaded, ServiceStopping
from application.lanes import Lane
from infrastructure.single_writer import SingleWriter


def test_runs_jobs_on_one_thread_system_lane_first(bus) -> None:  # type: ignore[no-untyped-def]
    writer = SingleWriter(bus)
    writer.start()
    gate = threading.Event()
    order: list[str] = []
    threads: set[str] = set()

    def job(name: str) -> str:
        threads.add(threading.current_thread().name)
        order.append(name)
        return name

    blocker = writer.run(gate.wait)
    client = [writer.run(lambda i=i: job(f"client-{i}"), Lane.CLIENT) for i in range(3)]
    system = [writer.run(lambda i=i: job(f"system-{i}"), Lane.SYSTEM) for i in range(2)]
    gate.set()
    assert [f.result(5) for f in client + system] == [
        "client-0",
        "client-1",
        "client-2",
        "system-0",
        "system-1",
    ]
    assert blocker.result(5) is True
    assert order == ["system-0", "system-1", "client-0", "client-1", "client-2"]
    assert threads == {"single-writer"}
    writer.stop()


def test_client_lane_is_bounded(bus) -> None:  # type: ignore[no-untyped-def]
    writer = SingleWriter(bus, max_backlog=2)
    writer.start()
    gate = threading.Event()
    writer.run(gate.wait)
    accepted = [writer.run(lambda: 1, Lane.CLIENT) for _ in range(2)]
    refused = writer.run(lambda: 1, Lane.CLIENT)
    with pytest.raises(ServiceOverloaded):
        refused.result(1)
    assert writer.run(lambda: "system", Lane.SYSTEM) is not None
    gate.set()
    assert [f.result(5) for f in accepted] == [1, 1]
    assert writer.run(lambda: 2, Lane.CLIENT).result(5) == 2
    writer.stop()


def test_stop_finishes_queued_work_then_refuses(bus) -> None:  # type: ignore[no-untyped-def]
    writer = SingleWriter(bus)
    writer.start()
    gate = threading.Event()
    writer.run(gate.wait)
    queued = writer.run(lambda: "done", Lane.CLIENT)
    stopper = threading.Thread(target=writer.stop)
    stopper.start()
    gate.set()
    stopper.join(5)
    assert queued.result(1) == "done"
    with pytest.raises(ServiceStopping):
        writer.run(lambda: 1).result(1)
