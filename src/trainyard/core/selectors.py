"""Kubernetes label selectors (`a=b,c!=d,e in (x,y),!f`): parsed once, matched against labels."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NoReturn

from trainyard.core.errors import UserError
from trainyard.core.names import label_key_problem, label_value_problem

OPERATORS = ("=", "!=", "in", "notin", "exists", "!exists")
_TOKEN = re.compile(r"\s*(\(|\)|,|!=|==|=|!|[^\s(),!=]+)")


@dataclass(frozen=True)
class Requirement:
    """One condition on one label: `key op values` (exists/!exists take no values)."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether `labels` meet this requirement (a missing label never equals anything)."""
        value = labels.get(self.key)
        if self.operator == "exists":
            return value is not None
        if self.operator == "!exists":
            return value is None
        if self.operator in ("=", "in"):
            return value is not None and value in self.values
        return value is None or value not in self.values  # != and notin


Selector = tuple[Requirement, ...]
"""Every requirement must hold; the empty selector matches everything."""


def matches(selector: Selector, labels: Mapping[str, str] | None) -> bool:
    """Whether `labels` meet every requirement of `selector`."""
    have = labels or {}
    return all(requirement.matches(have) for requirement in selector)


def parse_selector(text: str | None) -> Selector:
    """The requirements of a label selector; UserError saying where it is malformed."""
    if text is None or not text.strip():
        return ()
    return _Parser(text).requirements()


class _Parser:
    """A recursive-descent reader over the selector's tokens."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[str] = []
        position = 0
        while position < len(text):
            found = _TOKEN.match(text, position)
            if found is None:  # only trailing blanks are left
                break
            self.tokens.append(found.group(1))
            position = found.end()
        self.index = 0

    def requirements(self) -> Selector:
        found = [self._requirement()]
        while self._peek() == ",":
            self.index += 1
            found.append(self._requirement())
        if self._peek() is not None:
            self._fail(f"unexpected {self._peek()!r}; requirements are separated by ','")
        return tuple(found)

    def _requirement(self) -> Requirement:
        if self._peek() == "!":
            self.index += 1
            return Requirement(self._key(), "!exists")
        key = self._key()
        token = self._peek()
        if token is None or token == ",":
            return Requirement(key, "exists")
        self.index += 1
        if token in ("=", "=="):
            return Requirement(key, "=", (self._value(),))
        if token == "!=":
            return Requirement(key, "!=", (self._value(),))
        if token in ("in", "notin"):
            return Requirement(key, token, self._set())
        self._fail(f"after {key!r} expected =, ==, !=, in or notin, found {token!r}")

    def _key(self) -> str:
        token = self._peek()
        if token is None or token in ("(", ")", ",", "=", "==", "!=", "!"):
            self._fail(f"expected a label key, found {token or 'the end'!r}")
        self.index += 1
        problem = label_key_problem(token)
        if problem:
            self._fail(problem)
        return token

    def _value(self) -> str:
        token = self._peek()
        if token is None or token in (",", ")"):
            return ""  # `a=` selects the empty value, as Kubernetes reads it
        if token in ("(", "=", "==", "!=", "!"):
            self._fail(f"expected a label value, found {token!r}")
        self.index += 1
        problem = label_value_problem(token)
        if problem:
            self._fail(problem)
        return token

    def _set(self) -> tuple[str, ...]:
        if self._peek() != "(":
            self._fail("a set of values must be written in parentheses: key in (a,b)")
        self.index += 1
        values = [self._value()]
        while self._peek() == ",":
            self.index += 1
            values.append(self._value())
        if self._peek() != ")":
            self._fail("the set of values is not closed with ')'")
        self.index += 1
        return tuple(values)

    def _peek(self) -> str | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _fail(self, message: str) -> NoReturn:
        raise UserError(f"label selector {self.text!r}: {message}")
