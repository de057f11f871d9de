"""A small JSONPath for Argo's `jsonpath(json, path)`: `$`, `.key`, `['key']`, `[n]`, `[*]`,
`[a:b]`, `..key` (at any depth) and filters `[?(...)]` (see jsonfilter)."""

from __future__ import annotations

import json
import re
from typing import Any

from trainyard.spec.expr.jsonfilter import keep
from trainyard.spec.expr.values import EvalFailure

_STEP = re.compile(
    r"\.(?P<name>[A-Za-z_$][\w$-]*)"
    r"|\.?\[(?:(?P<star>\*)|(?P<lo>-?\d*):(?P<hi>-?\d*)|(?P<num>-?\d+)"
    r"|'(?P<sq>[^']*)'|\"(?P<dq>[^\"]*)\")\]"
    r"|\.(?P<dot_star>\*)"
)

_DESCENT = re.compile(r"\.\.(?P<key>[A-Za-z_$][\w$-]*)")


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
        if path.startswith("[?(", pos):
            end = _filter_end(path, pos)
            text = path[pos + 3 : end]
            wildcard = True
            current = [i for value in current for i in _children(value) if keep(text, i)]
            pos = end + 2
            continue
        descent = _DESCENT.match(path, pos)
        if descent is not None:
            wildcard = True
            key = descent.group("key")
            current = [d[key] for v in current for d in _descendants(v) if key in d]
            pos = descent.end()
            continue
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


def _filter_end(path: str, start: int) -> int:
    """The index of the `)]` that closes the filter opened at `start`, skipping quotes."""
    quote = ""
    pos = start + 3
    while pos < len(path):
        char = path[pos]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif path.startswith(")]", pos):
            return pos
        pos += 1
    raise EvalFailure(f"jsonpath: the filter in {path!r} is not closed with ')]'")


def _descendants(value: Any) -> list[dict[str, Any]]:
    """Every map in `value`, itself included, depth first."""
    found: list[dict[str, Any]] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found.append(item)
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return found
