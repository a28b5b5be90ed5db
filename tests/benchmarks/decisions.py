"""Benchmark 5: scheduling decision latency per algorithm and pool count, alone and with
its compact record (the digest from the board's kept pool hashes), and the record's size."""

import random
import statistics
import time
from dataclasses import replace
from datetime import UTC, datetime

import orjson

from application.restored_state import HeldSlot, WaitingTask
from application.scheduling.pool_board import PoolBoard
from application.scheduling.tenant_shares import TenantShares
from application.scheduling.waiting_queue import WaitingQueue
from domain.events import WorkerAssigned
from domain.scheduling import PoolSnapshot, TaskSnapshot, decide, record_of
from domain.tenant import Tenant
from domain.values import NO_BORROWING, Algorithm, Limits, ResourceType
from infrastructure.codec import encode
from tests.benchmarks.harness import Report, Row, Scale, percentile

REGIONS = ("us-east", "us-west", "eu-west", "ap-east", "sa-east", "eu-north", "ap-south", "af-1")
TARGETS = {1_000: 1.0, 10_000: 5.0}
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def pools(count: int, rng: random.Random) -> list[PoolSnapshot]:
    result = []
    for index in range(count):
        capacity = rng.randint(1, 20)
        result.append(
            PoolSnapshot(
                f"pool-{index}",
                f"pool-{index}",
                rng.choice(REGIONS),
                rng.choice(list(ResourceType)),
                round(rng.uniform(0.1, 3.0), 2),
                capacity,
                rng.randint(0, capacity),
                index + 1,
            )
        )
    return result


def tasks(count: int, rng: random.Random) -> list[TaskSnapshot]:
    kinds = [None, ResourceType.CPU, ResourceType.GPU]
    return [
        TaskSnapshot(f"t{i}", rng.randint(1, 10), rng.choice(REGIONS), rng.choice(kinds))
        for i in range(count)
    ]


def run(scale: Scale, report: Report) -> None:
    run_pools(scale, report)
    run_tenants(scale, report)


def run_pools(scale: Scale, report: Report) -> None:
    for count in scale.decision_pools:
        for algorithm in Algorithm:
            p50s, p99s, recorded_p99s, sizes = [], [], [], []
            for attempt in range(scale.runs):
                rng = random.Random(attempt)
                samples_wanted = max(min(scale.decisions, 2_000_000 // count), 100)
                snapshot, work = pools(count, rng), tasks(samples_wanted, rng)
                board = PoolBoard()
                for pool in snapshot:
                    board.put(pool)
                samples, recorded, records = [], [], []
                for task in work:
                    started = time.perf_counter()
                    decision = decide(algorithm, task, snapshot)
                    decided = time.perf_counter()
                    record = record_of(decision, 1_234_567, "a1b2c3d4", board.digest(task))
                    samples.append((decided - started) * 1000)
                    recorded.append((time.perf_counter() - started) * 1000)
                    records.append((task.task_id, record))
                for task_id, record in records:  # sized after the timing, not between
                    event = WorkerAssigned(task_id, "p", "n", record, EPOCH)
                    sizes.append(len(orjson.dumps(orjson.loads(encode(event))["decision"])))
                p50s.append(percentile(samples, 0.5))
                p99s.append(percentile(samples, 0.99))
                recorded_p99s.append(percentile(recorded, 0.99))
            target = TARGETS.get(count)
            for metric, values in (("p50", p50s), ("p99", p99s)):
                report.add(
                    Row(
                        "decision",
                        f"{algorithm} {count} pools",
                        metric,
                        statistics.median(values),
                        "ms",
                        target=f"p99 < {target:g} ms" if target and metric == "p99" else None,
                    )
                )
            report.add(
                Row("decision", f"{algorithm} {count} pools", "p99 with its record",
                    statistics.median(recorded_p99s), "ms")
            )  # fmt: skip
            report.add(
                Row("decision", f"{algorithm} {count} pools", "largest record", max(sizes), "B",
                    target="<= 600 B")
            )  # fmt: skip


TENANTS = 100
TENANT_POOLS = 1_000


def _tenant_queue(
    rng: random.Random, tenants: int
) -> tuple[WaitingQueue, TenantShares, list[PoolSnapshot]]:
    """A full system's waiting queue of `tenants` tenants (weights 1-4, a third with a cpu
    quota), each running some tasks, on TENANT_POOLS pools."""
    snapshot = pools(TENANT_POOLS, rng)
    names = [f"team-{index}" for index in range(tenants)]
    settings = [
        Tenant(name, float(rng.randint(1, 4)), Limits(cpu=rng.randint(5, 50)) if index % 3 == 0
               else Limits(), NO_BORROWING)
        for index, name in enumerate(names)
    ]  # fmt: skip
    held = [
        HeldSlot(f"r{index}", rng.choice(names), rng.choice(list(ResourceType)))
        for index in range(2_000)
    ]
    queue = WaitingQueue(Algorithm.FIFO)
    kinds = [None, ResourceType.CPU, ResourceType.GPU]
    for index in range(5_000):
        queue.add(
            WaitingTask(f"w{index}", rng.randint(1, 10), rng.choice(REGIONS), rng.choice(kinds),
                        index + 1, "c", False, rng.choice(names))
        )  # fmt: skip
    return queue, TenantShares(settings if tenants > 1 else (), held), snapshot


def run_tenants(scale: Scale, report: Report) -> None:
    """The tenant stage's cost: choosing the next task among 100 tenants' heads and placing
    it on 1,000 pools, against one tenant (no stage) in the same run."""
    case = f"fifo {TENANT_POOLS:,} pools"
    figures: dict[int, tuple[list[float], list[int]]] = {}
    for tenants in (1, TENANTS):
        p99s, sizes = [], []
        for attempt in range(scale.runs):
            rng = random.Random(attempt)
            queue, shares, snapshot = _tenant_queue(rng, tenants)
            board = PoolBoard()
            for pool in snapshot:
                board.put(pool)
            samples = []
            for _ in range(max(min(scale.decisions, 2_000), 100)):
                started = time.perf_counter()
                picked = shares.pick(queue.heads(board.has_room), board.has_room, board.capacity())
                assert picked is not None
                task, stage = picked
                snap = TaskSnapshot(task.task_id, task.priority, task.region, task.resource_type)
                decision = decide(Algorithm.FIFO, snap, snapshot)
                record = record_of(decision, 1_234_567, "a1b2c3d4", board.digest(snap))
                if stage is not None:
                    record = replace(record, tenants=stage)
                samples.append((time.perf_counter() - started) * 1000)
                queue.take(task.task_id)
                event = WorkerAssigned(task.task_id, "p", "n", record, EPOCH)
                sizes.append(len(orjson.dumps(orjson.loads(encode(event))["decision"])))
            p99s.append(percentile(samples, 0.99))
        figures[tenants] = (p99s, sizes)
    one, many = figures[1], figures[TENANTS]
    report.add(
        Row("decision", f"{case}, {TENANTS} tenants", "p99 with the tenant stage",
            statistics.median(many[0]), "ms", "one tenant", statistics.median(one[0]),
            "p99 < 1 ms")
    )  # fmt: skip
    report.add(
        Row("decision", f"{case}, {TENANTS} tenants", "largest record", max(many[1]), "B",
            "one tenant", max(one[1]))
    )  # fmt: skip
