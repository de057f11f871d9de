"""JSON text, fast: orjson where it can, the standard library for what orjson refuses.

The store and the API serialize every workflow they read or write; orjson does it several times
faster. It refuses integers beyond 64 bits, non-string keys and lone surrogates, which a user's
document may hold: those go through `json` instead, with the same compact output.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> bytes:
    """`value` as compact UTF-8 JSON."""
    try:
        return orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError):
        # ASCII escapes: also right for lone surrogates, which UTF-8 cannot hold.
        return json.dumps(value, separators=(",", ":")).encode()


def loads(text: str | bytes) -> Any:
    """The value of JSON `text`; ValueError (json.JSONDecodeError) when it is not JSON."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # the standard library's message, or a value orjson refuses
