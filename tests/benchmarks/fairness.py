"""Benchmark: fair share and preemption as the scheduler applies them, in the what-if
simulation (`application.audit.whatif`, the live scheduler's TenantShares, queue and
board, on virtual time), beside the same arrivals with no tenants in the same run.

- Shares: three tenants of weights 1/1/2 each submit a burst larger than the 34 cpu
  slots, a few seconds apart; over the window where all three are backlogged, each
  tenant's share of the slot-seconds, against 25/25/50 (goal: within 5 points).
- First slot: a tenant arrives into a system full of another tenant's tasks; the
  completions it waits through before its first task starts (goal: at most one), and
  with the full tenant's tasks preemptible (goal: none, it starts at once)."""

import random
from collections.abc import Sequence
from dataclasses import replace

from application.audit.whatif import (
    Placement,
    PoolRegistered,
    RecordedTask,
    ReplayInputs,
    TenantSet,
)
from application.audit.whatif import simulate as run_simulation
from domain.scheduling import PoolSnapshot
from domain.tenant import DEFAULT_TENANT, Tenant
from domain.values import Algorithm, ResourceType
from tests.benchmarks.harness import Report, Row, Scale

CPU = ResourceType.CPU
SLOTS = 34
WEIGHTS = {"a": 1.0, "b": 1.0, "c": 2.0}
STARTS = {"a": 0.0, "b": 2.0, "c": 4.0}
"""When each tenant's burst arrives (seconds)."""


def _task(
    index: int, tenant: str, at: float, seconds: float, preemptible: bool = False
) -> RecordedTask:
    """A task of `seconds` of work (its recorded start is not what a simulation uses)."""
    return RecordedTask(
        f"{tenant}{index}", 5, "us", CPU, 1.0, index, at, "p", at, at + seconds, None,
        tenant=tenant, preemptible=preemptible,
    )  # fmt: skip


def _inputs(tasks: Sequence[RecordedTask], tenants: bool) -> ReplayInputs:
    pool = PoolSnapshot("p", "p", "us", CPU, 1.0, SLOTS, 0, registration=0)
    tasks = sorted(tasks, key=lambda task: task.enqueued_at)
    tasks = [_renumbered(task, position, tenants) for position, task in enumerate(tasks, start=1)]
    settings = [
        TenantSet(index, -1.0, Tenant(name, weight))
        for index, (name, weight) in enumerate(WEIGHTS.items())
    ] if tenants else []  # fmt: skip
    end = max(task.enqueued_at for task in tasks) + 10_000.0
    return ReplayInputs(tasks, [PoolRegistered(0, -1.0, pool)], frozenset(), end, settings)


def _renumbered(task: RecordedTask, position: int, tenants: bool) -> RecordedTask:
    return replace(
        task, queued_position=position, tenant=task.tenant if tenants else DEFAULT_TENANT
    )


def _shares(placements: dict[str, Placement], tenant_of: dict[str, str]) -> dict[str, float]:
    """Each tenant's share of the slot-seconds over the window where all three had tasks
    waiting: from the last burst's arrival to the first time a tenant had none left
    waiting (its last task's start)."""
    window_start = max(STARTS.values())
    last_start = dict.fromkeys(WEIGHTS, 0.0)
    for task_id, placement in placements.items():
        name = tenant_of[task_id]
        last_start[name] = max(last_start[name], placement.start)
    window_end = min(last_start.values())
    held = dict.fromkeys(WEIGHTS, 0.0)
    for task_id, placement in placements.items():
        overlap = min(placement.end, window_end) - max(placement.start, window_start)
        if overlap > 0:
            held[tenant_of[task_id]] += overlap
    total = sum(held.values()) or 1.0
    return {name: 100.0 * seconds / total for name, seconds in held.items()}


def shares(rng: random.Random, per_tenant: int) -> tuple[dict[str, float], dict[str, float]]:
    """(with tenants, without) each tenant's share of the slot-seconds, in percent."""
    tasks = [
        _task(index, name, STARTS[name] + rng.uniform(0, 0.5), rng.uniform(1.0, 5.0))
        for name in WEIGHTS
        for index in range(per_tenant)
    ]
    tenant_of = {task.task_id: task.tenant for task in tasks}
    fair = run_simulation(_inputs(tasks, tenants=True), Algorithm.FIFO).placements
    plain = run_simulation(_inputs(tasks, tenants=False), Algorithm.FIFO).placements
    return _shares(fair, tenant_of), _shares(plain, tenant_of)


def first_slot(rng: random.Random, preemptible: bool, tenants: bool) -> int:
    """Completions the late tenant's first task waits through after it arrives."""
    busy = [
        _task(index, "a", rng.uniform(0, 0.5), rng.uniform(5.0, 15.0), preemptible)
        for index in range(3 * SLOTS)
    ]
    arrival = 2.0
    late = _task(0, "b", arrival, 1.0)
    placed = run_simulation(_inputs([*busy, late], tenants), Algorithm.FIFO).placements
    start = placed[late.task_id].start
    return sum(
        1 for task_id, p in placed.items() if task_id != late.task_id and arrival < p.end <= start
    )


def run(scale: Scale, report: Report) -> None:
    per_tenant = 400  # virtual time: the simulation takes well under a second
    fair_runs, plain_runs = [], []
    for attempt in range(scale.runs):
        fair, plain = shares(random.Random(attempt), per_tenant)
        fair_runs.append(fair)
        plain_runs.append(plain)
    case = f"{SLOTS} cpu slots, weights 1/1/2, {per_tenant} tasks each"
    for name, due in (("a", 25.0), ("b", 25.0), ("c", 50.0)):
        worst = max(fair_runs, key=lambda run: abs(run[name] - due))[name]
        without = max(plain_runs, key=lambda run: abs(run[name] - due))[name]
        report.add(
            Row("fairness", case, f"share of tenant {name} (due {due:g}%), furthest run", worst,
                "%", "no tenants (fifo)", without, "within 5 points")
        )  # fmt: skip
    waits = {
        (preemptible, tenants): max(
            first_slot(random.Random(attempt), preemptible, tenants)
            for attempt in range(scale.runs)
        )
        for preemptible in (False, True)
        for tenants in (True, False)
    }
    case = f"{SLOTS} cpu slots full of one tenant's tasks, another arrives"
    report.add(
        Row("fairness", case, "completions before its first slot, most", waits[(False, True)],
            "tasks", "no tenants (fifo)", waits[(False, False)], "<= 1")
    )  # fmt: skip
    report.add(
        Row("fairness", f"{case}, preemptible", "completions before its first slot, most",
            waits[(True, True)], "tasks", "no tenants (fifo)", waits[(True, False)], "0")
    )  # fmt: skip
