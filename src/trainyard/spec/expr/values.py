"""How expr values behave: type names, equality, truthiness, and rendering as Argo writes them."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any


class EvalFailure(Exception):
    """A runtime failure inside an expression; the evaluator adds the expression and column."""


def type_name(value: object) -> str:
    """The expr name of a value's type, for messages."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, Callable):  # type: ignore[arg-type]
        return "func"
    return type(value).__name__


def is_number(value: object) -> bool:
    """True for ints and floats, never for booleans."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def equal(left: object, right: object) -> bool:
    """expr's `==`: numbers compare by value, anything else needs the same type."""
    if is_number(left) and is_number(right):
        return bool(left == right)
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(
            equal(a, b) for a, b in zip(left, right, strict=True)
        )
    return type(left) is type(right) and bool(left == right)


def to_json(value: object) -> str:
    """Compact JSON like Go's encoding/json: whole floats without `.0`, map keys sorted."""
    return json.dumps(_go_shape(value), separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _go_shape(value: object) -> Any:
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise EvalFailure(f"cannot write {value} as JSON")
        if value.is_integer() and abs(value) < 1e21:
            return int(value)
        return value
    if isinstance(value, list):
        return [_go_shape(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _go_shape(item) for key, item in value.items()}
    if callable(value):
        raise EvalFailure("a function is not a value")
    return value


def render(value: object) -> str:
    """The text a `{{= }}` tag becomes: strings as they are, anything else as JSON (Argo)."""
    if isinstance(value, str):
        return value
    return to_json(value)


def display(value: object) -> str:
    """`string(x)`: Go's %v of the value."""
    if isinstance(value, str):
        return value
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return to_json(value)
    if isinstance(value, list):
        return "[" + " ".join(display(item) for item in value) + "]"
    if isinstance(value, dict):
        inner = " ".join(f"{key}:{display(value[key])}" for key in sorted(value))
        return "map[" + inner + "]"
    return str(value)
