"""Every query parameter of this API takes one value. A repeated one (`?type=a&type=b`)
is refused as invalid input, where FastAPI would silently keep the last."""

from fastapi import Request
from fastapi.exceptions import RequestValidationError


async def single_valued_query(request: Request) -> None:
    """An app-wide dependency (async: it runs on the event loop, not in the thread pool
    every request would then wait for): 422 naming the first parameter given twice."""
    seen: set[str] = set()
    for name, _ in request.query_params.multi_items():
        if name in seen:
            raise RequestValidationError(
                [{"loc": ("query", name), "msg": "give this parameter once", "type": "repeated"}]
            )
        seen.add(name)
