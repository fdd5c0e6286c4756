"""Every HTTP error as JSON in the OpenAI shape ({"error": {"message", "type", "param", "code"}}), so plain
HTTP clients and the `openai` package both show the message. No user input can reach the 500 handler."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.errors import IndexMissingError, InputError, RayAdvisorError

log = logging.getLogger("ray_advisor.api")


def error_response(status: int, message: str, kind: str, param: str | None = None, **extra: Any) -> JSONResponse:
    headers = extra.pop("headers", None)
    body = {"error": {"message": message, "type": kind, "param": param, "code": None}, **extra}
    return JSONResponse(body, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> tuple[int, str, str | None]:
    parts, param, status = [], None, 422
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        if err.get("type") == "json_invalid":
            status = 400
            detail = (err.get("ctx") or {}).get("error", "invalid JSON")
            parts.append(f"malformed JSON body at position {loc[0] if loc else '?'}: {detail}")
            continue
        field = ".".join(loc) or "body"
        param = param or field
        parts.append(f"{field}: {err.get('msg', 'invalid')}")
    return status, "; ".join(parts), param


_KNOWN_ERRORS: tuple[tuple[type[Exception], int, str], ...] = (
    (IndexMissingError, 503, "index_missing"),  # a deployment state to fix, so "unavailable", not a bug
    (InputError, 422, "invalid_request_error"),
    (RayAdvisorError, 400, "ray_advisor_error"),
)


def install_handlers(app: FastAPI) -> None:
    async def on_invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        status, message, param = _validation_message(exc)
        return error_response(status, message, "invalid_json" if status == 400 else "invalid_request_error", param)

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return error_response(exc.status_code, str(exc.detail), "http_error", headers=exc.headers)

    async def on_bug(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, "internal server error", "server_error")  # never a traceback to the client

    def known(status: int, kind: str) -> Any:
        async def handler(_: Request, exc: Exception) -> JSONResponse:
            return error_response(status, str(exc), kind, exc.field if isinstance(exc, InputError) else None)

        return handler

    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(StarletteHTTPException, on_http)
    for cls, status, kind in _KNOWN_ERRORS:
        app.add_exception_handler(cls, known(status, kind))
    app.add_exception_handler(Exception, on_bug)
