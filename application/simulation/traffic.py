"""Synthetic traffic for POST /simulate: submits tasks in the background.

Distributions: `random` draws every field uniformly and spaces submissions by a random
gap; `weighted` favours low priorities, `order` tasks and `region_bias` (70% of tasks)
with the same pacing; `burst` submits all tasks at once, with uniform draws.
"""

import random
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

import structlog

from application.commands.submit_task import SubmitTask
from application.messages import CommandResult, MessageContext
from application.ports import Clock, CommandSender, IdGenerator
from domain.values import TaskType

log = structlog.get_logger(__name__)

MAX_GAP_S = 0.02
MAX_IN_FLIGHT = 256
"""Submissions awaiting their commit at once: backpressure instead of flooding the writer."""
MAX_RUNNING = 4
REGION_BIAS_SHARE = 0.7
DEFAULT_REGIONS = ("us-east", "us-west", "eu-west", "ap-east")


class TooManySimulations(Exception):
    def __init__(self, running: int) -> None:
        super().__init__(f"{running} simulations are running; wait for one to finish")


class Distribution(StrEnum):
    RANDOM = "random"
    WEIGHTED = "weighted"
    BURST = "burst"


@dataclass(frozen=True)
class TrafficPlan:
    task_count: int
    distribution: Distribution
    priority_range: tuple[int, int]
    cost_range: tuple[float, float]
    region_bias: str | None = None


@dataclass(frozen=True)
class TrafficRun:
    id: str
    plan: TrafficPlan
    start_time: datetime
    tasks_created: int = 0
    status: str = "running"
    error: str | None = None


class TrafficGenerator:
    def __init__(
        self,
        sender: CommandSender,
        clock: Clock,
        ids: IdGenerator,
        regions: Callable[[], Sequence[str]],
        seed: int | None = None,
    ) -> None:
        self._sender = sender
        self._clock = clock
        self._ids = ids
        self._regions = regions
        self._rng = random.Random(seed)
        self._runs: dict[str, TrafficRun] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def start(self, plan: TrafficPlan, context: MessageContext) -> TrafficRun:
        """Start a run in the background; at most MAX_RUNNING run at once."""
        run = TrafficRun(self._ids.new_id(), plan, self._clock.now())
        with self._lock:
            running = sum(other.status == "running" for other in self._runs.values())
            if running >= MAX_RUNNING:
                raise TooManySimulations(running)
            self._runs[run.id] = run
            commands = self._draw(plan)
        thread = threading.Thread(
            target=self._submit_all, args=(run.id, commands, context), daemon=True
        )
        thread.start()
        return run

    def get(self, run_id: str) -> TrafficRun | None:
        with self._lock:
            return self._runs.get(run_id)

    def stop(self) -> None:
        self._stop.set()

    def _draw(self, plan: TrafficPlan) -> list[tuple[float, SubmitTask]]:
        rng = self._rng
        regions = list(self._regions()) or list(DEFAULT_REGIONS)
        low, high = plan.priority_range
        cost_low, cost_high = plan.cost_range
        weighted = plan.distribution is Distribution.WEIGHTED
        commands = []
        for _ in range(plan.task_count):
            if weighted:
                priority = round(rng.triangular(low, high, low))
                task_type = rng.choices(list(TaskType), weights=(5, 2, 3))[0]
            else:
                priority = rng.randint(low, high)
                task_type = rng.choice(list(TaskType))
            if plan.region_bias is not None and rng.random() < REGION_BIAS_SHARE:
                region = plan.region_bias
            else:
                region = rng.choice(regions)
            cost = round(rng.uniform(cost_low, cost_high), 4) or cost_high
            gap = 0.0 if plan.distribution is Distribution.BURST else rng.uniform(0, MAX_GAP_S)
            command = SubmitTask(task_type, priority, cost, region, metadata={"synthetic": True})
            commands.append((gap, command))
        return commands

    def _submit_all(
        self, run_id: str, commands: list[tuple[float, SubmitTask]], context: MessageContext
    ) -> None:
        futures: list[Future[CommandResult]] = []
        for gap, command in commands:
            if self._stop.wait(gap) if gap else self._stop.is_set():
                break
            if len(futures) >= MAX_IN_FLIGHT:
                futures[-MAX_IN_FLIGHT].exception()
            future = self._sender.submit(command, context)
            future.add_done_callback(lambda done: self._count(run_id, done))
            futures.append(future)
        errors = [str(error) for error in (future.exception() for future in futures) if error]
        status = "failed" if errors else "completed"
        if errors:
            log.warning("traffic.rejected", run_id=run_id, count=len(errors), first=errors[0])
        self._update(run_id, status=status, error=errors[0] if errors else None)

    def _count(self, run_id: str, future: "Future[CommandResult]") -> None:
        if future.exception() is None:
            with self._lock:
                run = self._runs[run_id]
                self._runs[run_id] = replace(run, tasks_created=run.tasks_created + 1)

    def _update(self, run_id: str, status: str, error: str | None) -> None:
        with self._lock:
            self._runs[run_id] = replace(self._runs[run_id], status=status, error=error)
