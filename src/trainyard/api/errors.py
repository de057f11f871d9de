"""Errors in grpc-gateway's shape, `{"code": N, "message": "..."}`, with the matching status."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from trainyard.api.encoding import json_response
from trainyard.core.errors import (
    ConflictError,
    EnvironmentError_,
    NotFoundError,
    PermissionDeniedError,
    TrainyardError,
    UnauthenticatedError,
    UserError,
)

log = logging.getLogger(__name__)

# gRPC status codes, and the HTTP status grpc-gateway gives each.
INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED = 3, 5, 6, 7
RESOURCE_EXHAUSTED, ABORTED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, UNAUTHENTICATED = (
    8, 10, 12, 13, 14, 16,
)  # fmt: skip
HTTP_TO_GRPC = {
    400: INVALID_ARGUMENT,
    401: UNAUTHENTICATED,
    403: PERMISSION_DENIED,
    404: NOT_FOUND,
    405: UNIMPLEMENTED,
    409: ABORTED,
    413: RESOURCE_EXHAUSTED,
    500: INTERNAL,
    503: UNAVAILABLE,
}


def error_response(status: int, message: str, code: int | None = None) -> Response:
    """The grpc-gateway error body for `status`."""
    body = {"code": code if code is not None else HTTP_TO_GRPC.get(status, 2), "message": message}
    return json_response(body, status)


def status_of(error: TrainyardError) -> tuple[int, int]:
    """(HTTP status, gRPC code) for one of trainyard's errors."""
    if isinstance(error, NotFoundError):
        return 404, NOT_FOUND
    if isinstance(error, UserError):
        return 400, INVALID_ARGUMENT
    if isinstance(error, ConflictError):
        exists = "already exists" in str(error)
        return 409, ALREADY_EXISTS if exists else ABORTED
    if isinstance(error, UnauthenticatedError):
        return 401, UNAUTHENTICATED
    if isinstance(error, PermissionDeniedError):
        return 403, PERMISSION_DENIED
    if isinstance(error, EnvironmentError_):
        return 503, UNAVAILABLE
    return 500, INTERNAL


def stream_error(error: TrainyardError) -> dict[str, Any]:
    """grpc-gateway's StreamError, for an error after a stream has started."""
    status, code = status_of(error)
    return {"grpc_code": code, "http_code": status, "message": str(error)}


def install(app: FastAPI) -> None:
    """Make every error, expected or not, answer in Argo's shape."""

    async def trainyard_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, TrainyardError)
        status, code = status_of(error)
        if status >= 500:
            log.error("%s %s failed: %s", request.method, request.url.path, error)
        return error_response(status, str(error), code)

    async def invalid(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        return error_response(400, validation_message(error.errors()))

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        return error_response(error.status_code, str(error.detail))

    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception("%s %s failed", request.method, request.url.path)
        return error_response(500, f"internal error: {type(error).__name__}: {error}")

    app.add_exception_handler(TrainyardError, trainyard_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)


def validation_message(errors: Any) -> str:
    """FastAPI's validation errors as one line each: where, and what is wrong."""
    lines = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error", "not JSON")
            where = f" at character {loc[1]}" if len(loc) > 1 else ""
            lines.append(f"invalid JSON{where}: {reason}")
            continue
        where = ".".join(loc[1:] if loc and loc[0] in ("body", "query", "path") else loc)
        source = loc[0] if loc else "request"
        lines.append(f"{source} {where}: {error.get('msg', 'invalid')}".replace(" :", ":"))
    return "; ".join(lines) or "the request is not valid"
