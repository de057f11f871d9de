"""JSON out: compact, UTF-8, written once per response without FastAPI's encoder walking it."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response

from trainyard.core import jsontext


def dumps(value: Any) -> bytes:
    """`value` as compact UTF-8 JSON."""
    return jsontext.dumps(value)


def json_response(value: Any, status: int = 200) -> Response:
    """A JSON response with `value` as its body."""
    return Response(dumps(value), status_code=status, media_type="application/json")
