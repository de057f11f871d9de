"""The functions an Argo expression can call: expr's builtins, Argo's additions and `sprig`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from trainyard.spec.expr.jsonpath import jsonpath
from trainyard.spec.expr.sprig import SPRIG
from trainyard.spec.expr.values import EvalFailure, display, is_number, to_json, type_name


def as_int(value: Any) -> int:
    """expr's `int` (Argo's `asInt`): whole-number strings, numbers truncated."""
    if isinstance(value, bool):
        raise EvalFailure("invalid operation: int(bool)")
    if is_number(value):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise EvalFailure(f'strconv.Atoi: parsing "{value}": invalid syntax') from None
    raise EvalFailure(f"invalid operation: int({type_name(value)})")


def as_float(value: Any) -> float:
    """expr's `float` (Argo's `asFloat`)."""
    if isinstance(value, bool):
        raise EvalFailure("invalid operation: float(bool)")
    if is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise EvalFailure(f'strconv.ParseFloat: parsing "{value}": invalid syntax') from None
    raise EvalFailure(f"invalid operation: float({type_name(value)})")


def from_json(text: Any) -> Any:
    """Decode a JSON string."""
    if not isinstance(text, str):
        raise EvalFailure(f"fromJSON needs a string, not {type_name(text)}")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise EvalFailure(f"fromJSON: {exc}") from None


def length(value: Any) -> int:
    """`len` of a string, array or map."""
    if isinstance(value, str | list | dict):
        return len(value)
    raise EvalFailure(f"invalid argument for len (type {type_name(value)})")


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise EvalFailure(f"{name} needs a string, not {type_name(value)}")
    return value


def _numbers(name: str, values: tuple[Any, ...]) -> list[Any]:
    items = list(values[0]) if len(values) == 1 and isinstance(values[0], list) else list(values)
    if not items or not all(is_number(item) for item in items):
        raise EvalFailure(f"{name} needs numbers")
    return items


def _split(text: Any, sep: Any, count: Any = -1) -> list[str]:
    return _text("split", text).split(_text("split", sep), -1 if count < 0 else count - 1)


def _join(items: Any, sep: Any = "") -> str:
    if not isinstance(items, list):
        raise EvalFailure(f"join needs an array, not {type_name(items)}")
    return _text("join", sep).join(display(item) for item in items)


def _get(container: Any, key: Any) -> Any:
    """expr's `get`: like `container[key]`, but nil instead of an error when missing."""
    if isinstance(container, dict):
        return container.get(key)
    if isinstance(container, list) and is_number(key) and -len(container) <= key < len(container):
        return container[int(key)]
    return None


def _concat(*arrays: Any) -> list[Any]:
    out: list[Any] = []
    for array in arrays:
        if not isinstance(array, list):
            raise EvalFailure(f"concat needs arrays, not {type_name(array)}")
        out.extend(array)
    return out


def _first(items: Any) -> Any:
    return items[0] if isinstance(items, list) and items else None


def _last(items: Any) -> Any:
    return items[-1] if isinstance(items, list) and items else None


BUILTINS: dict[str, Any] = {
    "asInt": as_int,
    "asFloat": as_float,
    "int": as_int,
    "float": as_float,
    "string": display,
    "toJson": to_json,
    "toJSON": to_json,
    "fromJSON": from_json,
    "jsonpath": jsonpath,
    "len": length,
    "upper": lambda s: _text("upper", s).upper(),
    "lower": lambda s: _text("lower", s).lower(),
    "trim": lambda s, chars=None: _text("trim", s).strip(chars),
    "trimPrefix": lambda s, p: _text("trimPrefix", s).removeprefix(p),
    "trimSuffix": lambda s, p: _text("trimSuffix", s).removesuffix(p),
    "split": _split,
    "join": _join,
    "replace": lambda s, old, new: _text("replace", s).replace(old, new),
    "repeat": lambda s, n: _text("repeat", s) * as_int(n),
    "indexOf": lambda s, part: _text("indexOf", s).find(part),
    "hasPrefix": lambda s, p: _text("hasPrefix", s).startswith(p),
    "hasSuffix": lambda s, p: _text("hasSuffix", s).endswith(p),
    "abs": lambda n: abs(_numbers("abs", (n,))[0]),
    "max": lambda *n: max(_numbers("max", n)),
    "min": lambda *n: min(_numbers("min", n)),
    "keys": lambda m: list(m) if isinstance(m, dict) else _fail("keys needs a map"),
    "values": lambda m: list(m.values()) if isinstance(m, dict) else _fail("values needs a map"),
    "first": _first,
    "get": _get,
    "concat": _concat,
    "last": _last,
    "sprig": SPRIG,
}


def _fail(message: str) -> Any:
    raise EvalFailure(message)


def call_closure_function(name: str, items: Any, predicate: Callable[[Any], Any]) -> Any:
    """filter, map, all, any, none, one, count, find, findIndex or sum over `items`."""
    if not isinstance(items, list):
        raise EvalFailure(f"{name} needs an array, not {type_name(items)}")
    if name == "map":
        return [predicate(item) for item in items]
    if name == "sum":
        results = tuple(predicate(item) for item in items)
        return sum(_numbers("sum", results)) if results else 0
    tests = [_bool(name, predicate(item)) for item in items]
    if name == "filter":
        return [item for item, keep in zip(items, tests, strict=True) if keep]
    if name == "all":
        return all(tests)
    if name == "any":
        return any(tests)
    if name == "none":
        return not any(tests)
    if name == "one":
        return tests.count(True) == 1
    if name == "count":
        return tests.count(True)
    found = [i for i, keep in enumerate(tests) if keep]
    if name == "find":
        return items[found[0]] if found else None
    if name == "findIndex":
        return found[0] if found else -1
    raise EvalFailure(f"unknown function {name}")


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise EvalFailure(f"the predicate of {name} must return a bool, not {type_name(value)}")
    return value
