"""Large synthetic logs and read models for the replay and query benchmarks, written
straight into SQLite (going through the command path would take hours)."""

import random
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from application.commands.register_worker_pool import pool_id_for
from application.simulation.demo_pools import demo_pool_commands
from domain.events import (
    DomainEvent,
    PoolSlotClaimed,
    PoolSlotReleased,
    TaskCompleted,
    WorkerAssigned,
)
from domain.scheduling import (
    Decision,
    DecisionRecord,
    PoolSnapshot,
    TaskSnapshot,
    decide,
    record_of,
)
from domain.scheduling.record import digest_of, pool_hash
from domain.values import Algorithm, ResourceType, TaskStatus, TaskType
from infrastructure.codec import encode
from infrastructure.sql import chain, stored_events
from infrastructure.sql.projections.tasks import INSERT
from tests.benchmarks.harness import progress
from tests.builders import pool_registered, task_queued

START = datetime(2026, 1, 1, tzinfo=UTC)
EVENTS_PER_TASK = 5

Row = tuple[object, ...]


def demo_pools() -> list[PoolSnapshot]:
    return [
        PoolSnapshot(
            pool_id_for(c.name),
            c.name,
            c.region,
            c.resource_type,
            c.cost_per_unit,
            c.capacity,
            0,
            i + 1,
        )
        for i, c in enumerate(demo_pool_commands())
    ]


def many_pools(count: int) -> list[PoolSnapshot]:
    """`count` pools in four regions, CPU and GPU alternating, ten slots each, costs
    spread; registered first, so each one's registration is its position."""
    regions = ("us-east", "us-west", "eu-west", "ap-east")
    return [
        PoolSnapshot(
            pool_id_for(f"pool-{index:05d}"),
            f"pool-{index:05d}",
            regions[index % 4],
            list(ResourceType)[index // 4 % 2],
            round(0.5 + (index * 7919 % 100) / 40, 3),
            10,
            0,
            index + 1,
        )
        for index in range(count)
    ]


def event_log(
    total: int,
    seed: int = 1,
    whole_decisions: bool = False,
    pools: list[PoolSnapshot] | None = None,
    whole_every: int = 0,
) -> Iterator[tuple[str, int, DomainEvent, datetime]]:
    """(stream, version, event, time): the pools (the demo pools unless given), then tasks
    living their whole life, one after another. Decisions are compact records, or, with
    `whole_decisions` (or for every `whole_every`-th task), every pool as seen (schema 2's
    form).

    Every task is decided on the same board (all pools free: each task ends before the
    next begins), so one decision per algorithm and task line is computed and reused."""
    rng = random.Random(seed)
    pools = demo_pools() if pools is None else pools
    hashes = [pool_hash(pool) for pool in pools]
    decided: dict[tuple[Algorithm, int, str, ResourceType | None], Decision] = {}
    records: dict[tuple[Algorithm, int, str, ResourceType | None], DecisionRecord] = {}
    pool_versions = {pool.pool_id: 1 for pool in pools}
    for pool in pools:
        yield (
            f"pool-{pool.pool_id}",
            1,
            pool_registered(
                pool.pool_id,
                pool.name,
                pool.region,
                pool.resource_type,
                pool.cost_per_unit,
                pool.capacity,
                START,
            ),
            START,
        )
    produced = len(pools)
    moment = START
    count = 0
    while produced + EVENTS_PER_TASK <= total:
        count += 1
        moment += timedelta(milliseconds=rng.randint(1, 20))
        task_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        region = rng.choice(["us-east", "us-west", "eu-west", "ap-east"])
        kind = rng.choice([None, ResourceType.CPU, ResourceType.GPU])
        priority = rng.randint(1, 10)
        queued = task_queued(
            task_id,
            rng.choice(list(TaskType)),
            priority,
            round(rng.uniform(0.1, 50), 2),
            region,
            kind,
            {"customer": f"c{rng.randint(1, 500)}"},
            moment,
        )
        algorithm = rng.choice(list(Algorithm))
        task = TaskSnapshot(task_id, priority, region, kind)
        line = (algorithm, priority, region, kind)
        if line not in decided:
            decided[line] = decide(algorithm, task, pools)
            records[line] = record_of(decided[line], 0, "synthetic", "")
        decision = replace(decided[line], task=task)
        assert decision.chosen is not None
        pool = decision.chosen
        stream = f"task-{task_id}"
        pool_stream = f"pool-{pool.pool_id}"
        done = moment + timedelta(milliseconds=rng.randint(100, 2000))
        yield stream, 1, queued, moment
        # decided on the log as it stood after the TaskQueued, which is at `produced + 1`
        whole = whole_decisions or (whole_every > 0 and count % whole_every == 0)
        recorded = (
            decision
            if whole
            else replace(records[line], seen=produced + 1, digest=digest_of(task, hashes))
        )
        yield stream, 2, WorkerAssigned(task_id, pool.pool_id, pool.name, recorded, moment), moment
        pool_versions[pool.pool_id] += 1
        yield (
            pool_stream,
            pool_versions[pool.pool_id],
            PoolSlotClaimed(pool.pool_id, task_id),
            moment,
        )
        yield stream, 3, TaskCompleted(task_id, pool.pool_id, moment, done), done
        pool_versions[pool.pool_id] += 1
        yield (
            pool_stream,
            pool_versions[pool.pool_id],
            PoolSlotReleased(pool.pool_id, task_id, "completed"),
            done,
        )
        produced += EVENTS_PER_TASK


def write_log(
    path: Path,
    total: int,
    tick: Callable[[int], None] | None = None,
    whole_decisions: bool = False,
    pools: list[PoolSnapshot] | None = None,
    whole_every: int = 0,
) -> int:
    """Write about `total` events (see `event_log`) to an already migrated database; return
    how many."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    batch: list[Row] = []
    position, previous = 0, chain.GENESIS
    log = event_log(total, whole_decisions=whole_decisions, pools=pools, whole_every=whole_every)
    for stream, version, event, moment in log:
        position += 1
        whole = isinstance(event, WorkerAssigned) and isinstance(event.decision, Decision)
        row = (
            position,
            stream,
            version,
            event.type_name(),
            2 if whole else event.schema_version,
            encode(event),
            str(uuid.UUID(int=position)),
            "synthetic",
            None,
            "bench",
            moment.isoformat(timespec="microseconds"),
        )
        previous = chain.link(previous, row)
        batch.append((*row, previous))
        if len(batch) == 20_000:
            _insert(db, batch)
            if tick:
                tick(len(batch))
            batch = []
    _insert(db, batch)
    if tick:
        tick(len(batch))
    db.close()
    return position


def _insert(db: sqlite3.Connection, rows: list[Row]) -> None:
    db.execute("BEGIN")
    db.executemany(stored_events.INSERT.sqlite, rows)
    db.execute("COMMIT")


TASK_ROW = INSERT.sqlite
"""A row of the tasks read model, columns named."""


def write_read_model(path: Path, tasks: int, seed: int = 2) -> list[str]:
    """Fill the projections with `tasks` tasks directly; return some task ids to look up."""
    rng = random.Random(seed)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    pools = demo_pools()
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO pool_load VALUES (?,?,?,?,?,?,?,?,'simulated',0)",
        [
            (
                p.pool_id,
                p.name,
                p.region,
                str(p.resource_type),
                p.cost_per_unit,
                p.capacity,
                0,
                p.registration,
            )
            for p in pools
        ],
    )
    counts: dict[tuple[str, str, str], int] = {}
    sample: list[str] = []
    rows: list[Row] = []
    statuses = [TaskStatus.COMPLETED] * 8 + [TaskStatus.FAILED, TaskStatus.QUEUED]
    for index in range(tasks):
        task_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        status, kind = rng.choice(statuses), str(rng.choice(list(TaskType)))
        region, pool = rng.choice(["us-east", "us-west", "eu-west", "ap-east"]), rng.choice(pools)
        at = (START + timedelta(milliseconds=index * 5)).isoformat(timespec="microseconds")
        finished = status is not TaskStatus.QUEUED
        rows.append(
            (
                task_id,
                kind,
                rng.randint(1, 10),
                3.5,
                region,
                None,
                str(status),
                '{"customer":"c1"}',
                at,
                at if finished else None,
                at if finished else None,
                pool.pool_id if finished else None,
                pool.name if finished else None,
                "fifo" if finished else None,
                "fifo v1 chose a pool" if finished else None,
                None,
                None,
                "synthetic",
                index + 1,
                index + 1,
                1 if finished else 0,
                3,
                None,
                None,
                None if finished else index + 1,
                None,
                None,
                0,
                "default",
                0,
            )
        )
        counts[(str(status), kind, region)] = counts.get((str(status), kind, region), 0) + 1
        if index % max(tasks // 1000, 1) == 0:
            sample.append(task_id)
        if len(rows) == 50_000:
            db.executemany(TASK_ROW, rows)
            rows = []
    db.executemany(TASK_ROW, rows)
    db.executemany(
        "INSERT INTO task_counts VALUES (?,?,?,'default',?)",
        [(*key, n) for key, n in counts.items()],
    )
    db.executemany(
        "INSERT INTO stats_counters VALUES (?,?)",
        [("assigned", tasks), ("latency_sum_us", tasks * 800_000), ("latency_count", tasks)],
    )
    db.executemany(
        "INSERT INTO checkpoints VALUES (?,0)",
        [("tasks",), ("pool_load",), ("stats",), ("tenants",)],
    )
    db.execute("COMMIT")
    db.close()
    return sample


def migrated_log(path: Path, total: int, console: Console, **options: Any) -> Path:
    """A new database at `path`, migrated, holding about `total` events (`write_log` with
    `options`), written under a progress bar."""
    from infrastructure.sql import migrate
    from infrastructure.sql.engine import create_engines

    engines = create_engines(f"sqlite:///{path}")
    migrate.upgrade(engines.write)
    engines.dispose()
    with progress(console) as bar:
        job = bar.add_task(f"writing {path.name}", total=total)
        write_log(path, total, lambda n: bar.advance(job, n), **options)
    return path
