"""Dependencies shared by the routes (async: no thread-pool hop to read request state)."""

from typing import Annotated

from fastapi import Depends, Request

from application.messages import Command, CommandResult, MessageContext
from application.service import TaskRouterService
from interfaces.http.closing import Closing
from interfaces.http.completions import wait_for


def service_of(request: Request) -> TaskRouterService:
    service: TaskRouterService = request.app.state.service
    return service


def context_of(request: Request) -> MessageContext:
    """The request's id correlates what it causes; the actor is the API key's name (or
    "api" when the service runs without keys)."""
    principal = getattr(request.state, "principal", None)
    actor = "api" if principal is None else f"key:{principal}"
    return MessageContext(correlation_id=request.state.request_id, actor=actor)


async def get_service(request: Request) -> TaskRouterService:
    return service_of(request)


async def get_context(request: Request) -> MessageContext:
    return context_of(request)


async def get_closing(request: Request) -> Closing:
    closing: Closing = request.app.state.closing
    return closing


Service = Annotated[TaskRouterService, Depends(get_service)]
Context = Annotated[MessageContext, Depends(get_context)]
ServerClosing = Annotated[Closing, Depends(get_closing)]


async def send(
    service: TaskRouterService, command: Command, context: MessageContext
) -> CommandResult:
    """Hand the command to the single writer and wait for its commit."""
    return await wait_for(service.sender.submit(command, context))
