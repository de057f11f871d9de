"""Lint for expressions: every `{{= }}` tag and expression field of a document must parse."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from trainyard.core.errors import ExpressionError, Problem
from trainyard.spec.expr.parser import parse
from trainyard.spec.source import JsonPath, SourceDocument
from trainyard.spec.variables import find_tags

_EXPRESSION_KEYS = {"expression", "fromExpression"}


def expression_problems(doc: SourceDocument) -> list[Problem]:
    """An error, at the string that holds it, for each expression that does not parse."""
    return [doc.problem(message, path) for message, path in _findings(doc.data, ())]


def _findings(value: Any, path: JsonPath) -> Iterator[tuple[str, JsonPath]]:
    if isinstance(value, dict):
        for key, child in value.items():
            child_path = (*path, key)
            if _is_expression(key, path) and isinstance(child, str) and "{{" not in child:
                yield from _check(child, child_path, key)
            else:
                yield from _findings(child, child_path)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _findings(child, (*path, index))
    elif isinstance(value, str) and "{{=" in value:
        for tag in find_tags(value):
            if tag.startswith("="):
                yield from _check(tag[1:], path, "{{= }} tag")


def _is_expression(key: str, path: JsonPath) -> bool:
    """Whether the field `key` under `path` holds an expression (an http template's
    successCondition is one; a resource template's is a Kubernetes condition)."""
    if key in _EXPRESSION_KEYS:
        return True
    return key == "successCondition" and bool(path) and path[-1] == "http"


def _check(source: str, path: JsonPath, what: str) -> Iterator[tuple[str, JsonPath]]:
    try:
        parse(source.strip())
    except ExpressionError as exc:
        yield (f"invalid {what}: {exc}", path)
