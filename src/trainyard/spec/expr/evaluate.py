"""Evaluate an expr syntax tree against an environment of nested maps, as Argo's expr does."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from trainyard.core.errors import ExpressionError
from trainyard.spec.expr.functions import BUILTINS, call_closure_function
from trainyard.spec.expr.nodes import (
    Array,
    Binary,
    Call,
    Closure,
    Conditional,
    Literal,
    MapLiteral,
    Member,
    Name,
    Node,
    Pointer,
    Slice,
    Unary,
)
from trainyard.spec.expr.parser import parse
from trainyard.spec.expr.values import EvalFailure, equal, is_number, render, type_name

__all__ = ["evaluate", "evaluate_tree", "render"]


class _Failed(Exception):
    """An EvalFailure with the offset of the node where it happened."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.pos = pos


def evaluate(source: str, env: Mapping[str, Any]) -> Any:
    """The value of the expression `source`; ExpressionError if it cannot be parsed or run."""
    return evaluate_tree(source, parse(source), env)


def evaluate_tree(source: str, tree: Node, env: Mapping[str, Any]) -> Any:
    """The value of an already parsed expression (`source` is for messages)."""
    try:
        return _Evaluator(env).eval(tree)
    except _Failed as failed:
        raise ExpressionError(
            f"cannot evaluate expression '{source}': {failed} (column {failed.pos + 1})"
        ) from None


class _Evaluator:
    def __init__(self, env: Mapping[str, Any]) -> None:
        self.env = env
        self.pointers: list[Any] = []

    def eval(self, node: Node) -> Any:
        try:
            return self._eval(node)
        except _Failed:
            raise
        except EvalFailure as exc:
            raise _Failed(str(exc), node.pos) from None
        except (TypeError, ValueError, IndexError, KeyError, OverflowError) as exc:
            raise _Failed(str(exc), node.pos) from None

    def _eval(self, node: Node) -> Any:
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Name):
            return self.lookup(node.name)
        if isinstance(node, Pointer):
            if not self.pointers:
                raise EvalFailure("# is only valid inside a predicate")
            return self.pointers[-1]
        if isinstance(node, Member):
            return self.member(node)
        if isinstance(node, Slice):
            return self.slice(node)
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, Unary):
            return _unary(node.op, self.eval(node.operand))
        if isinstance(node, Binary):
            return self.binary(node)
        if isinstance(node, Conditional):
            test = self.eval(node.test)
            if not isinstance(test, bool):
                raise EvalFailure(f"the condition of ?: must be a bool, not {type_name(test)}")
            return self.eval(node.yes if test else node.no)
        if isinstance(node, Array):
            return [self.eval(item) for item in node.items]
        if isinstance(node, MapLiteral):
            return {self.eval(key): self.eval(value) for key, value in node.pairs}
        raise EvalFailure(f"cannot evaluate {type(node).__name__}")

    def lookup(self, name: str) -> Any:
        if name in self.env:
            return self.env[name]
        if name in BUILTINS:
            return BUILTINS[name]
        raise EvalFailure(f"unknown name {name}")

    def member(self, node: Member) -> Any:
        obj = self.eval(node.obj)
        if obj is None and node.optional:
            return None
        key = self.eval(node.key)
        return index(obj, key)

    def slice(self, node: Slice) -> Any:
        obj = self.eval(node.obj)
        if not isinstance(obj, list | str):
            raise EvalFailure(f"cannot slice {type_name(obj)}")
        low = self.eval(node.low) if node.low is not None else 0
        high = self.eval(node.high) if node.high is not None else len(obj)
        if not (is_number(low) and is_number(high)):
            raise EvalFailure("slice bounds must be integers")
        return obj[int(low) : int(high)]

    def call(self, node: Call) -> Any:
        if isinstance(node.func, Name) and node.func.name not in self.env:
            name = node.func.name
            if any(isinstance(arg, Closure) for arg in node.args):
                return self.closure_call(name, node)
        func = self.eval(node.func)
        if not callable(func):
            raise EvalFailure(f"{type_name(func)} is not a function")
        args = [self.eval(arg) for arg in node.args]
        return func(*args)

    def closure_call(self, name: str, node: Call) -> Any:
        items = self.eval(node.args[0])
        closure = node.args[1]
        assert isinstance(closure, Closure)

        def predicate(item: Any) -> Any:
            self.pointers.append(item)
            try:
                return self.eval(closure.body)
            finally:
                self.pointers.pop()

        return call_closure_function(name, items, predicate)

    def binary(self, node: Binary) -> Any:
        op = node.op
        if op in ("and", "&&", "or", "||"):
            return self.logical(node)
        if op == "??":
            try:
                left = self.eval(node.left)
            except _Failed:
                left = None
            return self.eval(node.right) if left is None else left
        return _binary(op, self.eval(node.left), self.eval(node.right))

    def logical(self, node: Binary) -> bool:
        left = _need_bool(self.eval(node.left), node.op)
        if node.op in ("and", "&&") and not left:
            return False
        if node.op in ("or", "||") and left:
            return True
        return _need_bool(self.eval(node.right), node.op)


def index(obj: Any, key: Any) -> Any:
    """`obj[key]` as expr does it: a missing map key is nil, negative list indexes count back."""
    if isinstance(obj, dict):
        return obj.get(key)
    if isinstance(obj, list | str):
        if not is_number(key) or (isinstance(key, float) and not key.is_integer()):
            raise EvalFailure(f"cannot index {type_name(obj)} with {type_name(key)}")
        position = int(key)
        if position < 0:
            position += len(obj)
        if not 0 <= position < len(obj):
            raise EvalFailure(f"index out of range: {int(key)} (length {len(obj)})")
        return obj[position]
    raise EvalFailure(f"cannot fetch {key} from {type_name(obj)}")


def _need_bool(value: Any, op: str) -> bool:
    if not isinstance(value, bool):
        raise EvalFailure(f"'{op}' needs bool operands, not {type_name(value)}")
    return value


def _unary(op: str, value: Any) -> Any:
    if op == "not":
        return not _need_bool(value, "not")
    if not is_number(value):
        raise EvalFailure(f"invalid operation: {op} {type_name(value)}")
    return -value if op == "-" else value


def _arithmetic(op: str, left: Any, right: Any) -> Any:
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return left + right
    if op == "+" and isinstance(left, list) and isinstance(right, list):
        return left + right
    if not (is_number(left) and is_number(right)):
        raise EvalFailure(f"invalid operation: {type_name(left)} {op} {type_name(right)}")
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if op == "/":
        if right == 0:
            raise EvalFailure("division by zero")
        return left / right
    if op == "%":
        if isinstance(left, float) or isinstance(right, float):
            raise EvalFailure(f"invalid operation: {type_name(left)} % {type_name(right)}")
        if right == 0:
            raise EvalFailure("integer divide by zero")
        return int(math.fmod(left, right))
    return math.pow(left, right)


def _compare(op: str, left: Any, right: Any) -> bool:
    same = (is_number(left) and is_number(right)) or (
        isinstance(left, str) and isinstance(right, str)
    )
    if not same:
        raise EvalFailure(f"invalid operation: {type_name(left)} {op} {type_name(right)}")
    if op == "<":
        return bool(left < right)
    if op == ">":
        return bool(left > right)
    if op == "<=":
        return bool(left <= right)
    return bool(left >= right)


def _member_of(item: Any, container: Any) -> bool:
    if isinstance(container, list):
        return any(equal(item, element) for element in container)
    if isinstance(container, dict):
        return item in container
    if container is None:
        return False
    raise EvalFailure(f"invalid operation: {type_name(item)} in {type_name(container)}")


def _strings(op: str, left: Any, right: Any) -> tuple[str, str]:
    if not (isinstance(left, str) and isinstance(right, str)):
        raise EvalFailure(f"invalid operation: {type_name(left)} {op} {type_name(right)}")
    return left, right


def _range(left: Any, right: Any) -> list[int]:
    if not (isinstance(left, int) and isinstance(right, int)) or isinstance(left, bool):
        raise EvalFailure(f"invalid operation: {type_name(left)} .. {type_name(right)}")
    return list(range(left, right + 1))


_STRING_TESTS: dict[str, Callable[[str, str], bool]] = {
    "matches": lambda text, pattern: re.search(pattern, text) is not None,
    "contains": lambda text, part: part in text,
    "startsWith": lambda text, prefix: text.startswith(prefix),
    "endsWith": lambda text, suffix: text.endswith(suffix),
}


def _binary(op: str, left: Any, right: Any) -> Any:
    if op == "==":
        return equal(left, right)
    if op == "!=":
        return not equal(left, right)
    if op in ("<", ">", "<=", ">="):
        return _compare(op, left, right)
    if op == "in":
        return _member_of(left, right)
    if op == "not in":
        return not _member_of(left, right)
    if op in _STRING_TESTS:
        text, other = _strings(op, left, right)
        try:
            return _STRING_TESTS[op](text, other)
        except re.error as exc:
            raise EvalFailure(f"invalid regular expression {other!r}: {exc}") from None
    if op == "..":
        return _range(left, right)
    return _arithmetic("**" if op == "^" else op, left, right)
