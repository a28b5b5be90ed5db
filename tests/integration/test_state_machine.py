"""Random command sequences against the real SQLite store (hypothesis state machine):
commands from clients, pool admins and the scheduler interleave at random, valid or not.
After every step the log verifies (decisions recompute, pool load within [0, capacity],
one assignment per attempt, terminal states final, hash chain intact) and the live pool
view agrees; at the end a rebuild from the log equals the live read models."""

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from application.bus import InlineSender
from application.commands.assign_worker import AssignWorker
from application.commands.change_pool_capacity import ChangePoolCapacity
from application.commands.finish_task import CompleteTask, FailTask
from application.commands.register_worker_pool import RegisterWorkerPool
from application.commands.submit_task import SubmitTask
from application.commands.switch_algorithm import SwitchAlgorithm
from application.commands.task_lifecycle import CancelTask
from application.errors import ConcurrencyConflict
from application.messages import Command, MessageContext
from application.scheduling.scheduler import Scheduler
from domain.errors import DomainError
from domain.scheduling import PoolSnapshot, TaskSnapshot, decide
from domain.values import Algorithm, ResourceType, TaskType
from infrastructure.bootstrap import bootstrap
from infrastructure.settings import Settings
from infrastructure.sql import migrate
from infrastructure.sql.state_sources import SqlStateSource
from tests.fakes import FakeClock
from tests.integration.test_projections import snapshot
from tests.sqlite_support import sqlite_url

CTX = MessageContext("state-machine", None, "test")
REGIONS = st.sampled_from(["us-east", "eu-west", "mars"])
KINDS = st.sampled_from([ResourceType.CPU, ResourceType.GPU])


class TaskRouterMachine(RuleBasedStateMachine):
    tasks = Bundle("tasks")
    pools = Bundle("pools")

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="taskrouterx-machine-"))
        self.clock = FakeClock()
        settings = Settings(
            database_url=sqlite_url(self.directory), scheduler="off", simulator="off"
        )
        self.router = bootstrap(settings, clock=self.clock)
        migrate.upgrade(self.router.engines.write)
        self.sender = InlineSender(self.router.bus)
        self.policy = Scheduler(
            self.router.store, self.sender, SqlStateSource(self.router.engines.read),
            self.router.signal,
        )  # fmt: skip
        self.policy.restore()
        self.rejected = 0
        self.submitted: dict[str, tuple[int, str, ResourceType | None]] = {}

    def send(self, command: Command) -> str | None:
        self.clock.advance(0.25)
        try:
            return self.sender.submit(command, CTX).result().aggregate_id
        except (DomainError, ConcurrencyConflict):
            self.rejected += 1
            return None

    @rule(target=pools, name=st.text("abcxyz", min_size=1, max_size=4), region=REGIONS,
          kind=KINDS, capacity=st.integers(0, 3))  # fmt: skip
    def register_pool(self, name: str, region: str, kind: ResourceType, capacity: int) -> str:
        return self.send(RegisterWorkerPool(name, region, kind, 1.0, capacity)) or "no-such-pool"

    @rule(target=tasks, priority=st.integers(1, 10), region=REGIONS,
          kind=st.one_of(st.none(), KINDS))  # fmt: skip
    def submit(self, priority: int, region: str, kind: ResourceType | None) -> str:
        task_id = self.send(SubmitTask(TaskType.ORDER, priority, 1.0, region, kind))
        assert task_id is not None
        self.submitted[task_id] = (priority, region, kind)
        return task_id

    @rule()
    def schedule(self) -> None:
        self.clock.advance(0.25)
        self.policy.run_once()

    @rule(task=tasks, pool=pools, honest=st.booleans())
    def assign_by_hand(self, task: str, pool: str, honest: bool) -> None:
        """An assignment the scheduler did not make, from the current pool view: to the
        pool its decision chose, or (dishonest) to another; the rules must hold."""
        priority, region, kind = self.submitted[task]
        snapshots = [
            PoolSnapshot(p["id"], p["name"], p["region"], ResourceType(p["resource_type"]),
                         p["cost_per_unit"], p["capacity"], p["current_load"], index)
            for index, p in enumerate(self.router.read_model.list_pools(), start=1)
        ]  # fmt: skip
        decision = decide(Algorithm.FIFO, TaskSnapshot(task, priority, region, kind), snapshots)
        chosen = decision.chosen_pool_id if honest and decision.chosen_pool_id else pool
        self.send(AssignWorker(task, chosen, decision))

    @rule(task=tasks)
    def complete(self, task: str) -> None:
        self.send(CompleteTask(task))

    @rule(task=tasks)
    def fail(self, task: str) -> None:
        self.send(FailTask(task, "failed at random"))

    @rule(task=tasks)
    def cancel(self, task: str) -> None:
        self.send(CancelTask(task))

    @rule(pool=pools, capacity=st.integers(0, 4))
    def change_capacity(self, pool: str, capacity: int) -> None:
        self.send(ChangePoolCapacity(pool, capacity))

    @rule(algorithm=st.sampled_from(list(Algorithm)))
    def switch(self, algorithm: Algorithm) -> None:
        self.send(SwitchAlgorithm(algorithm))

    @invariant()
    def the_log_verifies(self) -> None:
        report = self.router.audit()
        assert report.chain is not None
        assert report.chain.first_broken is None, report.chain.problem
        assert report.violations == [], report.violations
        assert report.mismatches == [], report.mismatches

    @invariant()
    def pool_loads_stay_within_capacity(self) -> None:
        for pool in self.router.read_model.list_pools():
            assert 0 <= pool["current_load"] <= pool["capacity"], pool

    def teardown(self) -> None:
        try:
            live = snapshot(self.router)
            self.router.runner.rebuild(self.router.runner.names)
            rebuilt = snapshot(self.router)
            head = self.router.store.head()
            assert {position for _, position in rebuilt.pop("checkpoints")} == {head}
            live.pop("checkpoints")
            assert rebuilt == live
        finally:
            self.router.store.close()
            self.router.engines.dispose()
            shutil.rmtree(self.directory, ignore_errors=True)


TaskRouterMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_random_commands_keep_every_invariant = TaskRouterMachine.TestCase
