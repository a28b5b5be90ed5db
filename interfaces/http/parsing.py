"""Parsing a JSON body by hand, with the same 422 problem FastAPI would give, for the
endpoints too busy to pay for dependency solving."""

from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


async def parse_body(request: Request, model: type[M]) -> M:
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as error:
        raise RequestValidationError(
            [{**item, "loc": ("body", *item["loc"])} for item in error.errors(include_url=False)]
        ) from None


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI for a body parsed by `parse_body`, so /docs still shows it."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }
