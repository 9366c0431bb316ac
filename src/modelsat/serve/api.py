"""HTTP plumbing shared by the proxy and the local backend server: OpenAI-style errors, bounded JSON bodies.

Example:
    app = FastAPI()
    install_error_handler(app)
    body = await read_json(request, limit=1_048_576)  # APIError 413 / 400 instead of a crash
    chat = validate(ChatRequest, body)                # APIError 400 naming the bad field
"""

import json
from collections.abc import Mapping
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from modelsat.serve.wire import error_body

M = TypeVar("M", bound=BaseModel)


class APIError(Exception):
    """An error answered as `{"error": {...}}` with an HTTP status, like OpenAI's API does."""

    def __init__(
        self,
        status: int,
        message: str,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(message, type_, code, param)
        self.headers = dict(headers or {})


def install_error_handler(app: FastAPI) -> None:
    """Answer every `APIError` raised in `app` with its status, body and headers."""

    async def handle(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, APIError)
        return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)

    app.add_exception_handler(APIError, handle)


async def read_json(request: Request, limit: int) -> Any:
    """The request body parsed as JSON, refusing bodies over `limit` bytes before reading them whole.

    Raises:
        APIError: 413 when the body is too large, 400 when it is not valid JSON.
    """
    too_large = APIError(413, f"request body exceeds {limit} bytes", code="request_too_large")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():  # chunked uploads carry no content-length: count as we go
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except (ValueError, UnicodeDecodeError) as exc:
        raise APIError(400, f"request body is not valid JSON ({exc})", code="invalid_json") from None


def validate(model: type[M], data: Any) -> M:
    """`data` as a `model`, or a 400 naming the first bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(map(str, first["loc"])) or None
        where = f"field {param!r}" if param else "request body"
        raise APIError(400, f"invalid {where}: {first['msg']}", code="invalid_value", param=param) from None
