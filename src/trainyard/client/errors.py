"""What an Argo-API server's error answers mean for the caller, as trainyard's own errors."""

from __future__ import annotations

import json

from trainyard.core.errors import (
    ConflictError,
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


def server_message(body: bytes) -> str:
    """The `message` of Argo's grpc-gateway error shape, else the body as text."""
    text = body.decode(errors="replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:500] or "no message"
    if isinstance(data, dict):
        for key in ("message", "error", "detail"):
            if isinstance(data.get(key), str):
                return str(data[key])
    return text[:500]


def error_for(status: int, body: bytes, server: str) -> TrainyardError:
    """The error to raise for an HTTP `status` answer from `server`."""
    message = server_message(body)
    if status == 401 and "TRAINYARD_TOKEN" not in message:
        message += " (give a token with --token or TRAINYARD_TOKEN)"
    kind = BY_STATUS.get(status)
    if kind is not None:
        return kind(message)
    return ExecutionError(f"{server} answered {status}: {message}")
