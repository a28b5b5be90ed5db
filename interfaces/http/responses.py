"""JSON responses rendered by orjson straight from the views. The views already have the
documented shape (a test checks them against the response models), so the hot endpoints
skip re-validating what they return."""

from typing import Any

import orjson
from fastapi.responses import Response


def json_response(content: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(content), status_code=status_code, media_type="application/json")
