"""A small JSONPath for Argo's `jsonpath(json, path)`: `$`, `.key`, `['key']`, `[n]`, `[*]`,
`[a:b]`; filters (`[?(...)]`) are not supported."""

from __future__ import annotations

import json
import re
from typing import Any

from trainyard.spec.expr.values import EvalFailure

_STEP = re.compile(
    r"\.(?P<name>[A-Za-z_$][\w$-]*)"
    r"|\.?\[(?:(?P<star>\*)|(?P<lo>-?\d*):(?P<hi>-?\d*)|(?P<num>-?\d+)"
    r"|'(?P<sq>[^']*)'|\"(?P<dq>[^\"]*)\")\]"
    r"|\.(?P<dot_star>\*)"
)


def jsonpath(text: Any, path: Any) -> Any:
    """The value at `path` in the JSON document `text`; a list when the path has a wildcard."""
    if not isinstance(text, str) or not isinstance(path, str):
        raise EvalFailure("jsonpath(json, path) takes two strings")
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise EvalFailure(f"jsonpath: the first argument is not JSON: {exc}") from None
    if not path.startswith("$"):
        raise EvalFailure(f"jsonpath: path {path!r} must start with '$'")
    current: list[Any] = [document]
    wildcard = False
    pos = 1
    while pos < len(path):
        match = _STEP.match(path, pos)
        if match is None:
            raise EvalFailure(f"jsonpath: cannot read {path!r} at character {pos + 1}")
        pos = match.end()
        if match.group("star") or match.group("dot_star"):
            wildcard = True
            current = [item for value in current for item in _children(value)]
        elif match.group("lo") is not None:
            wildcard = True
            low, high = (int(g) if g else None for g in match.group("lo", "hi"))
            current = [i for value in current if isinstance(value, list) for i in value[low:high]]
        else:
            current = [_child(value, match, path) for value in current]
    return current if wildcard else current[0]


def _children(value: Any) -> list[Any]:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return list(value.values())
    return []


def _child(value: Any, match: re.Match[str], path: str) -> Any:
    number = match.group("num")
    if number is not None:
        if not isinstance(value, list):
            raise EvalFailure(f"jsonpath: {path!r} indexes something that is not a list")
        position = int(number)
        if not -len(value) <= position < len(value):
            raise EvalFailure(f"jsonpath: index {position} is out of range in {path!r}")
        return value[position]
    key = match.group("name") or match.group("sq") or match.group("dq") or ""
    if not isinstance(value, dict) or key not in value:
        raise EvalFailure(f"jsonpath: key {key!r} not found in {path!r}")
    return value[key]
