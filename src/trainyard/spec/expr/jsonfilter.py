"""JSONPath filter expressions, `[?(...)]`: which items of a list (or values of a map) to keep.

A filter compares paths from the current item (`@.age`, `@['first name']`, `@.tags[0]`) with
literals (numbers, quoted strings, true/false/null) using `==`, `!=`, `<`, `<=`, `>`, `>=`,
combined with `&&`, `||`, `!` and parentheses; a bare `@.key` keeps items that have the key.
A path an item lacks makes its comparison false, never an error.
"""

from __future__ import annotations

import json
import re
from typing import Any

from trainyard.spec.expr.values import EvalFailure

_TOKEN = re.compile(
    r"\s*(?:(?P<at>@(?:\.[A-Za-z_$][\w$-]*|\[(?:-?\d+|'[^']*'|\"[^\"]*\")\])*)"
    r"|(?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
    r"|(?P<str>'[^']*'|\"[^\"]*\")"
    r"|(?P<word>true|false|null)"
    r"|(?P<op>==|!=|<=|>=|&&|\|\||[<>!()]))"
)
_PART = re.compile(
    r"\.(?P<name>[A-Za-z_$][\w$-]*)"
    r"|\[(?:(?P<num>-?\d+)|'(?P<sq>[^']*)'|\"(?P<dq>[^\"]*)\")\]"
)
_MISSING = object()


def keep(filter_text: str, item: Any) -> bool:
    """Whether `item` passes the filter `filter_text` (the text inside `[?( )]`)."""
    parser = _Filter(_tokens(filter_text), filter_text)
    result = parser.either(item)
    if parser.pos != len(parser.tokens):
        raise EvalFailure(f"jsonpath: cannot read filter {filter_text!r}")
    return result is not _MISSING and bool(result)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text.rstrip()):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise EvalFailure(f"jsonpath: cannot read filter {text!r} at character {pos + 1}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Filter:
    """A recursive-descent reader that evaluates as it reads (filters are tiny)."""

    def __init__(self, tokens: list[tuple[str, str]], text: str) -> None:
        self.tokens = tokens
        self.text = text
        self.pos = 0

    def _peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def either(self, item: Any) -> Any:
        left = self.both(item)
        while self._peek() == "||":
            self.pos += 1
            right = self.both(item)
            left = _truthy(left) or _truthy(right)
        return left

    def both(self, item: Any) -> Any:
        left = self.comparison(item)
        while self._peek() == "&&":
            self.pos += 1
            right = self.comparison(item)
            left = _truthy(left) and _truthy(right)
        return left

    def comparison(self, item: Any) -> Any:
        left = self.operand(item)
        op = self._peek()
        if op not in ("==", "!=", "<", "<=", ">", ">="):
            return left
        self.pos += 1
        return _compare(op, left, self.operand(item))

    def operand(self, item: Any) -> Any:
        if self.pos >= len(self.tokens):
            raise EvalFailure(f"jsonpath: filter {self.text!r} ends too early")
        kind, text = self.tokens[self.pos]
        self.pos += 1
        if text == "!":
            return not _truthy(self.operand(item))
        if text == "(":
            value = self.either(item)
            if self._peek() != ")":
                raise EvalFailure(f"jsonpath: filter {self.text!r} misses ')'")
            self.pos += 1
            return value
        if kind == "at":
            return _follow(item, text[1:])
        if kind in ("num", "word"):
            return json.loads(text)
        if kind == "str":
            return text[1:-1]
        raise EvalFailure(f"jsonpath: unexpected {text!r} in filter {self.text!r}")


def _follow(item: Any, path: str) -> Any:
    for match in _PART.finditer(path):
        number = match.group("num")
        if number is not None:
            index = int(number)
            if not isinstance(item, list) or not -len(item) <= index < len(item):
                return _MISSING
            item = item[index]
            continue
        key = match.group("name") or match.group("sq") or match.group("dq") or ""
        if not isinstance(item, dict) or key not in item:
            return _MISSING
        item = item[key]
    return item


def _truthy(value: Any) -> bool:
    return value is not _MISSING and value is not None and value is not False


def _compare(op: str, left: Any, right: Any) -> bool:
    if left is _MISSING or right is _MISSING:
        return False
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right))
    if not numbers and not (isinstance(left, str) and isinstance(right, str)):
        return False
    outcome: bool = {
        "<": left < right,
        "<=": left <= right,
        ">": left > right,
        ">=": left >= right,
    }[op]
    return outcome
