"""Which commands go first: the writer's lane policy.

The scheduler and the workers (`Lane.SYSTEM`) go before clients (`Lane.CLIENT`), so a
burst of submissions cannot starve the assignments and completions that free capacity,
nor let a worker's lease lapse while its heartbeat waits behind them."""

from enum import IntEnum

from application.commands.finish_task import CompleteTask, FailTask
from application.commands.leases import Heartbeat, LeaseTask, ReleaseTask
from application.commands.preempt_task import PreemptTask
from application.messages import Command


class Lane(IntEnum):
    SYSTEM = 0
    CLIENT = 1


WORKER_COMMANDS: frozenset[type[Command]] = frozenset(
    {LeaseTask, Heartbeat, CompleteTask, FailTask, ReleaseTask, PreemptTask}
)
"""What workers send, over HTTP or from the simulator, and the scheduler's preemptions:
the commands that keep work going and free capacity."""


def lane_of(command: Command) -> Lane:
    return Lane.SYSTEM if type(command) in WORKER_COMMANDS else Lane.CLIENT
