"""Named domain errors: each one is an invariant a command broke."""


class DomainError(Exception):
    """Base of every rule violation the domain reports."""


class NotFound(DomainError):
    """The command addressed something that does not exist."""


class Conflict(DomainError):
    """The command is valid but the current state does not allow it."""


class Invalid(DomainError):
    """The command carries a value the domain never accepts."""


class TaskNotFound(NotFound):
    def __init__(self, task_id: str) -> None:
        super().__init__(f"task {task_id} does not exist")
        self.task_id = task_id


class PoolNotFound(NotFound):
    def __init__(self, pool_id: str) -> None:
        super().__init__(f"worker pool {pool_id} does not exist")
        self.pool_id = pool_id


class TaskAlreadyExists(Conflict):
    def __init__(self, task_id: str) -> None:
        super().__init__(f"task {task_id} already exists")


class TaskInWrongState(Conflict):
    expected = "other"

    def __init__(self, task_id: str, status: str, action: str) -> None:
        super().__init__(f"only {self.expected} task can be {action}; task {task_id} is {status}")
        self.task_id = task_id
        self.current_status = str(status)


class TaskNotQueued(TaskInWrongState):
    expected = "a queued"


class TaskNotProcessing(TaskInWrongState):
    expected = "a processing"


class TaskNotDelayed(TaskInWrongState):
    expected = "a delayed"


class TaskNotFailed(TaskInWrongState):
    expected = "a failed"


class TaskFinished(TaskInWrongState):
    expected = "an unfinished"


class AttemptOver(Conflict):
    def __init__(self, task_id: str, attempt: int, current: int) -> None:
        super().__init__(
            f"attempt {attempt} of task {task_id} is over; the task is on attempt {current}"
        )
        self.task_id = task_id


class NotDueYet(Conflict):
    def __init__(self, task_id: str, what: str, due: str) -> None:
        super().__init__(f"{what} of task {task_id} is not due until {due}")
        self.task_id = task_id


class LeaseNotHeld(Conflict):
    """The lease presented is not the task's current one: it expired, was replaced, or
    the task moved on. The worker must stop working on the task."""

    def __init__(self, task_id: str, why: str) -> None:
        super().__init__(f"the lease presented does not hold task {task_id}: {why}")
        self.task_id = task_id


class LeaseRequired(Conflict):
    def __init__(self, task_id: str, pool: str) -> None:
        super().__init__(
            f"task {task_id} runs in external worker pool {pool}: only the worker "
            f"holding its lease can report on it (send the lease token)"
        )
        self.task_id = task_id


class TaskAlreadyLeased(Conflict):
    def __init__(self, task_id: str, worker_id: str) -> None:
        super().__init__(f"task {task_id} is already leased by worker {worker_id}")
        self.task_id = task_id


class CancelRequested(Conflict):
    def __init__(self, task_id: str) -> None:
        super().__init__(f"task {task_id} is being cancelled; it cannot be leased")
        self.task_id = task_id


class WrongPool(Conflict):
    def __init__(self, task_id: str, pool_id: str | None, asked: str) -> None:
        super().__init__(f"task {task_id} is assigned to pool {pool_id}, not {asked}")
        self.task_id = task_id


class PoolNotExternal(Conflict):
    def __init__(self, pool_name: str) -> None:
        super().__init__(
            f"worker pool {pool_name} runs its tasks in the simulator; only an external "
            f"pool's tasks can be leased"
        )


class PoolBusy(Conflict):
    def __init__(self, pool_name: str, load: int) -> None:
        super().__init__(
            f"worker pool {pool_name} runs {load} tasks; drain it and let them finish "
            f"before changing who runs its tasks"
        )


class TaskAlreadyDeferred(Conflict):
    def __init__(self, task_id: str) -> None:
        super().__init__(f"task {task_id} is already recorded as waiting for capacity")


class PoolAtCapacity(Conflict):
    def __init__(self, pool_name: str, capacity: int) -> None:
        super().__init__(f"worker pool {pool_name} is at capacity ({capacity} of {capacity})")


class PoolDraining(Conflict):
    def __init__(self, pool_name: str) -> None:
        super().__init__(f"worker pool {pool_name} is draining: it takes no new tasks")


class PoolAlreadyRegistered(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"a worker pool named {name} is already registered")


class CapacityBelowLoad(Conflict):
    def __init__(self, pool_name: str, capacity: int, load: int) -> None:
        super().__init__(
            f"worker pool {pool_name} runs {load} tasks; its capacity cannot drop to {capacity}"
        )


class ResourceMismatch(Conflict):
    def __init__(self, task_id: str, required: str, offered: str) -> None:
        super().__init__(f"task {task_id} requires {required} but the pool offers {offered}")


class TaskNotInPool(Conflict):
    def __init__(self, task_id: str, pool_name: str) -> None:
        super().__init__(f"task {task_id} holds no slot in worker pool {pool_name}")


class InvalidValue(Invalid):
    """A field outside the range the domain accepts."""


class UnknownAlgorithmVersion(Invalid):
    def __init__(self, algorithm: str, version: int) -> None:
        super().__init__(f"{algorithm} has no version {version}")
        self.algorithm = algorithm
        self.version = version


class EarlierAssignmentMissing(Conflict):
    """The scheduler decided this assignment on a board where its previous assignment of
    the same round had claimed a slot; that one was not recorded, so this decision's inputs
    could not be rebuilt from the log: it is refused, to be decided again."""

    def __init__(self, task_id: str, previous: str) -> None:
        super().__init__(
            f"task {task_id} was placed after task {previous} in one scheduling round, "
            f"and the assignment of {previous} was not recorded"
        )


class DecisionMismatch(Invalid):
    """A command carries a scheduling decision about another task, or one that chose
    otherwise: the log must never record an assignment its decision does not explain."""


class TenantNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"tenant {name!r} does not exist")
        self.tenant = name


class UnknownTenant(Invalid):
    """A submission names a tenant that does not exist."""

    def __init__(self, name: str) -> None:
        super().__init__(f"tenant {name!r} does not exist: create it first")
        self.tenant = name


class TenantAlreadyExists(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"tenant {name!r} already exists")


class PreemptionRefused(Conflict):
    """A preemption the rules never allow: a task that is not preemptible, a beneficiary
    that is not waiting or cannot run where the victim runs, or a victim of the
    beneficiary's own tenant with a priority not below the beneficiary's."""

    def __init__(self, task_id: str, why: str) -> None:
        super().__init__(f"task {task_id} cannot be preempted: {why}")
        self.task_id = task_id
