"""How Argo Server reads list options: label and field selectors, `fields`, paging tokens."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from typing import Any

REQUIREMENT = re.compile(
    r"^\s*(?P<neg>!)?\s*(?P<key>[\w./-]+)\s*"
    r"(?:(?P<op>==|!=|=)\s*(?P<value>[\w.-]*)|\s(?P<set>in|notin)\s*\((?P<values>[^)]*)\))?\s*$"
)


class SelectorError(ValueError):
    """A selector, `fields` value or continue token the server cannot read."""


def _split(selector: str) -> list[str]:
    """Requirements of a selector: commas split them, except inside `in (a,b)`."""
    parts, depth, current = [], 0, ""
    for char in selector:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p for p in parts if p.strip()]


def label_matcher(selector: str) -> Callable[[dict[str, str]], bool]:
    """A test of a label map against a Kubernetes label selector."""
    tests: list[Callable[[dict[str, str]], bool]] = []
    for part in _split(selector):
        match = REQUIREMENT.match(part)
        if match is None:
            raise SelectorError(f"unable to parse requirement: {part.strip()!r}")
        tests.append(_requirement(match))
    return lambda labels: all(test(labels) for test in tests)


def _requirement(match: re.Match[str]) -> Callable[[dict[str, str]], bool]:
    key, op, value, kind = match["key"], match["op"], match["value"], match["set"]
    if match["neg"]:
        return lambda labels: key not in labels
    if op in ("=", "=="):
        return lambda labels: labels.get(key) == value
    if op == "!=":
        return lambda labels: labels.get(key) != value
    if kind is not None:
        values = {v.strip() for v in match["values"].split(",")}
        if kind == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    return lambda labels: key in labels


def field_matcher(selector: str) -> Callable[[dict[str, Any]], bool]:
    """A test of a document against a field selector (`metadata.name=x,metadata.uid!=y`)."""
    tests: list[Callable[[dict[str, Any]], bool]] = []
    for part in _split(selector):
        found = re.fullmatch(r"\s*([\w.]+)\s*(==|!=|=)\s*(\S*)\s*", part)
        if found is None:
            raise SelectorError(f"invalid field selector: {part.strip()!r}")
        path, op, value = found.groups()
        tests.append(_field_test(path, op == "!=", value))
    return lambda doc: all(test(doc) for test in tests)


def _field_test(path: str, negate: bool, value: str) -> Callable[[dict[str, Any]], bool]:
    def test(doc: dict[str, Any]) -> bool:
        current: Any = doc
        for key in path.split("."):
            current = current.get(key) if isinstance(current, dict) else None
        return (str(current) == value) != negate

    return test


def pick_fields(doc: Any, fields: str) -> Any:
    """`doc` cut down as Argo's `fields` asks: `a.b,c` keeps those, `-a.b,c` drops them."""
    exclude = fields.startswith("-")
    tree: dict[str, Any] = {}
    for path in fields.removeprefix("-").split(","):
        node = tree
        for key in path.strip().split("."):
            if key:
                node = node.setdefault(key, {})
    return _drop(doc, tree) if exclude else _keep(doc, tree)


def _keep(doc: Any, tree: dict[str, Any]) -> Any:
    if not tree:
        return doc
    if isinstance(doc, list):
        return [_keep(item, tree) for item in doc]
    if isinstance(doc, dict):
        return {k: _keep(v, tree[k]) for k, v in doc.items() if k in tree}
    return doc


def _drop(doc: Any, tree: dict[str, Any]) -> Any:
    if isinstance(doc, list):
        return [_drop(item, tree) for item in doc]
    if isinstance(doc, dict):
        kept = {k: v for k, v in doc.items() if tree.get(k, 1)}
        return {k: (_drop(v, tree[k]) if k in tree else v) for k, v in kept.items()}
    return doc


def continue_token(offset: int, snapshot: str) -> str:
    """An opaque token for the page that starts at `offset` of the list as of `snapshot`."""
    raw = json.dumps({"offset": offset, "rv": snapshot}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_continue(token: str) -> int:
    """The offset in a continue token; SelectorError when it is not one of ours."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        offset = int(data["offset"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise SelectorError(f"continue key is not valid: {token!r}") from exc
    if offset < 0:
        raise SelectorError(f"continue key is not valid: {token!r}")
    return offset
