"""Benchmark 5: scheduling decision latency per algorithm and pool count, alone and with
its compact record (the digest from the board's kept pool hashes), and the record's size."""

import random
import statistics
import time
from datetime import UTC, datetime

import orjson

from application.scheduling.pool_board import PoolBoard
from domain.events import WorkerAssigned
from domain.scheduling import PoolSnapshot, TaskSnapshot, decide, record_of
from domain.values import Algorithm, ResourceType
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
