"""The scheduler configuration: which algorithm places the next task."""

from dataclasses import dataclass, replace
from datetime import datetime

from domain.events import AlgorithmSwitched, DomainEvent
from domain.values import Algorithm

SCHEDULER_STREAM = "scheduler-config"


@dataclass(frozen=True)
class SchedulerConfig:
    algorithm: Algorithm = Algorithm.FIFO

    def switch(self, algorithm: Algorithm, now: datetime) -> list[AlgorithmSwitched]:
        """Switching to the active algorithm changes nothing and records nothing."""
        if algorithm is self.algorithm:
            return []
        return [AlgorithmSwitched(self.algorithm, algorithm, now)]

    @staticmethod
    def start(event: DomainEvent) -> "SchedulerConfig":
        return SchedulerConfig().when(event)

    def when(self, event: DomainEvent) -> "SchedulerConfig":
        if isinstance(event, AlgorithmSwitched):
            return replace(self, algorithm=event.algorithm)
        return self
