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


class TaskNotQueued(Conflict):
    def __init__(self, task_id: str, status: str, action: str) -> None:
        super().__init__(f"only a queued task can be {action}; task {task_id} is {status}")
        self.task_id = task_id
        self.current_status = str(status)


class TaskNotProcessing(Conflict):
    def __init__(self, task_id: str, status: str, action: str) -> None:
        super().__init__(f"only a processing task can be {action}; task {task_id} is {status}")
        self.task_id = task_id
        self.current_status = str(status)


class TaskAlreadyDeferred(Conflict):
    def __init__(self, task_id: str) -> None:
        super().__init__(f"task {task_id} is already recorded as waiting for capacity")


class PoolAtCapacity(Conflict):
    def __init__(self, pool_name: str, capacity: int) -> None:
        super().__init__(f"worker pool {pool_name} is at capacity ({capacity} of {capacity})")


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


class DecisionMismatch(Invalid):
    """A command carries a scheduling decision about another task, or one that chose
    otherwise: the log must never record an assignment its decision does not explain."""
