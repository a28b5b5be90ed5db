"""Benchmark 5: scheduling decision latency per algorithm and pool count."""

import random
import statistics
import time

from domain.scheduling import PoolSnapshot, TaskSnapshot, decide
from domain.values import Algorithm, ResourceType
from tests.benchmarks.harness import Report, Row, Scale, percentile

REGIONS = ("us-east", "us-west", "eu-west", "ap-east", "sa-east", "eu-north", "ap-south", "af-1")
TARGETS = {1_000: 1.0, 10_000: 5.0}


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
            p50s, p99s = [], []
            for attempt in range(scale.runs):
                rng = random.Random(attempt)
                samples_wanted = max(min(scale.decisions, 2_000_000 // count), 100)
                snapshot, work = pools(count, rng), tasks(samples_wanted, rng)
                samples = []
                for task in work:
                    started = time.perf_counter()
                    decide(algorithm, task, snapshot)
                    samples.append((time.perf_counter() - started) * 1000)
                p50s.append(percentile(samples, 0.5))
                p99s.append(percentile(samples, 0.99))
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
