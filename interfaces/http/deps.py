"""Dependencies shared by the routes (async: no thread-pool hop to read request state)."""

from typing import Annotated

from fastapi import Depends, Request

from application.messages import Command, CommandResult, MessageContext
from application.service import TaskRouterService
from interfaces.http.completions import wait_for


def service_of(request: Request) -> TaskRouterService:
    service: TaskRouterService = request.app.state.service
    return service


def context_of(request: Request) -> MessageContext:
    return MessageContext(correlation_id=request.state.request_id, actor="api")


async def get_service(request: Request) -> TaskRouterService:
    return service_of(request)


async def get_context(request: Request) -> MessageContext:
    return context_of(request)


Service = Annotated[TaskRouterService, Depends(get_service)]
Context = Annotated[MessageContext, Depends(get_context)]


async def send(
    service: TaskRouterService, command: Command, context: MessageContext
) -> CommandResult:
    """Hand the command to the single writer and wait for its commit."""
    return await wait_for(service.sender.submit(command, context))
