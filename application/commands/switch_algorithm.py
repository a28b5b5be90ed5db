from dataclasses import dataclass

from application.aggregates import Change
from application.commands.loading import scheduler_config
from application.messages import Command, CommandResult
from application.unit_of_work import UnitOfWork
from domain.values import Algorithm


@dataclass(frozen=True)
class SwitchAlgorithm(Command):
    algorithm: Algorithm


def switch_algorithm(command: SwitchAlgorithm, uow: UnitOfWork) -> CommandResult:
    loaded, config = scheduler_config(uow)
    switched = config.switch(command.algorithm, uow.clock.now())
    return CommandResult(None, tuple(uow.save(Change(loaded, switched))))
