"""What an Argo-API server's error answers mean for the caller, as trainyard's own errors.

Argo Server answers through grpc-gateway: `{"code": <grpc code>, "message": ..., "details": []}`
for a plain call, and `{"error": {"grpc_code", "http_code", "message", ...}}` for a stream (as
its last line, or as the whole body when the stream fails before its first result). The grpc
code says more than the HTTP status (FailedPrecondition and InvalidArgument are both 400), so it
decides where there is one; the HTTP status decides otherwise.
"""

from __future__ import annotations

import json
from typing import Any

from trainyard.core.errors import (
    ConflictError,
    EnvironmentError_,
    ExecutionError,
    NotFoundError,
    PermissionDeniedError,
    TrainyardError,
    UnauthenticatedError,
    UserError,
)

BY_STATUS: dict[int, type[TrainyardError]] = {
    400: UserError,
    401: UnauthenticatedError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: UserError,
    422: UserError,
}

BY_GRPC_CODE: dict[int, type[TrainyardError]] = {
    3: UserError,  # InvalidArgument
    5: NotFoundError,  # NotFound
    6: ConflictError,  # AlreadyExists
    7: PermissionDeniedError,  # PermissionDenied
    9: ConflictError,  # FailedPrecondition: the object is in the wrong state for this
    10: ConflictError,  # Aborted: a concurrent change won
    11: UserError,  # OutOfRange
    16: UnauthenticatedError,  # Unauthenticated
}


def _decoded(body: bytes) -> tuple[str, Any]:
    text = body.decode(errors="replace").strip()
    try:
        return text, json.loads(text)
    except ValueError:
        return text, None


def _fields(data: Any) -> tuple[str | None, int | None]:
    """(message, grpc code) of either of grpc-gateway's error shapes."""
    if not isinstance(data, dict):
        return None, None
    inner = data.get("error")
    if isinstance(inner, dict):
        code = inner.get("grpc_code")
        message = inner.get("message")
        return (str(message) if message else None), (code if isinstance(code, int) else None)
    code = data.get("code")
    for key in ("message", "error", "detail"):
        if isinstance(data.get(key), str) and data[key]:
            return str(data[key]), (code if isinstance(code, int) else None)
    return None, (code if isinstance(code, int) else None)


def server_message(body: bytes) -> str:
    """The `message` of Argo's grpc-gateway error shapes, else the body as text."""
    text, data = _decoded(body)
    message, _ = _fields(data)
    return message or text[:500] or "no message"


def error_for(status: int, body: bytes, server: str) -> TrainyardError:
    """The error to raise for an HTTP `status` answer from `server`."""
    _, data = _decoded(body)
    _, code = _fields(data)
    return _error(status, code, server_message(body), server)


def stream_error(error: Any, server: str) -> TrainyardError:
    """The error to raise for a stream's `{"error": {...}}` line."""
    message, code = _fields({"error": error})
    status = error.get("http_code") if isinstance(error, dict) else None
    text = message or json.dumps(error)[:500]
    return _error(status if isinstance(status, int) else 500, code, text, server)


def _error(status: int, code: int | None, message: str, server: str) -> TrainyardError:
    kind = BY_GRPC_CODE.get(code) if code is not None else None
    kind = kind or BY_STATUS.get(status)
    if kind is UnauthenticatedError and "TRAINYARD_TOKEN" not in message:
        message += " (give a token with --token or TRAINYARD_TOKEN)"
    if kind is not None:
        return kind(message)
    return ExecutionError(f"{server} answered {status}: {message}")


def not_json(server: str, what: str, text: str) -> EnvironmentError_:
    """The error for an answer that is not Argo's JSON: most likely --server is not Argo."""
    shown = text.strip().splitlines()[0][:200] if text.strip() else "an empty answer"
    return EnvironmentError_(
        f"the server at {server} answered {what} with something that is not JSON ({shown!r}); "
        "is --server the address of an Argo Server or trainyard server?"
    )
