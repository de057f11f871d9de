"""Argo `when` conditions in govaluate syntax: tokenizer, recursive-descent parser, evaluator.

Nothing here calls eval(). The semantics are those of github.com/Knetic/govaluate as Argo's
controller uses it (workflow/controller/steps.go, shouldExecute):

- A bare word (`heads`, `Succeeded`, `[text in brackets]`) is a string: govaluate reads it as a
  variable and Argo turns every variable into a string, so `foo == bar` works unquoted.
- Numbers are float64. `true`/`false` are booleans. Quoted strings take `'` or `"`; either quote
  character ends a string, and a backslash makes the next character literal.
- `==`/`!=` are Go's DeepEqual: same type and same value, so `5 == '5'` is false.
- `+` adds two numbers, or concatenates when either side is a string; `- * / % **` need numbers.
- `> >= < <=` compare two numbers, or two strings byte-wise; a number and a string is an error.
- `=~`/`!~` match a regular expression anywhere in the left string (Go's MatchString).
- `&&`/`||` need booleans and short-circuit; `!` needs a boolean, prefix `-` a number.
- `x in (a, b)` is true when x equals (DeepEqual) one of the listed values.
- Precedence, loosest first: `||`, `&&`, comparisons and `in`, `+ -`, `* / %`, `**`, prefix
  `! -`. Operators of one level group left to right.
- An operator is the longest run of symbol characters, so `a==-1` holds the unknown operator
  `==-`; write `a == -1`.
- A hyphenated bare word is a subtraction: `x == my-value` is `x == (my - value)`, an error on
  strings, in Argo as here. Quote such words: `x == 'my-value'`.

Deviations from govaluate, all of which only touch expressions that fail or are rare in Argo:

- A bare word with a `.` (`model.pt`) is a govaluate field accessor, which fails in Argo when it
  is evaluated; here it is a parse error that says to quote it. `1.2.3` is not a number, in
  govaluate as here: a parse error.
- govaluate turns quoted strings that look like dates into Unix times; they stay strings here
  (ISO dates of one format still compare the same way).
- Lists `(a, b)` are allowed only on the right of `in`; govaluate accepts them anywhere.
- The bitwise operators, `? :` and `??` are refused as unsupported.
- Regular expressions run on Python's `re`, which agrees with RE2 on common patterns.
- An empty `when` is true (Argo skips the evaluation); `parse('')` is an error.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from trainyard.core.errors import ExpressionError
from trainyard.spec.govaluate_lexer import PositionedError, Token, Value, tokenize

__all__ = [
    "Binary",
    "Expr",
    "ListNode",
    "Literal",
    "Node",
    "Unary",
    "Value",
    "evaluate",
    "evaluate_when",
    "go_string",
    "parse",
]

_LEVELS: tuple[frozenset[str], ...] = (
    frozenset({"||"}),
    frozenset({"&&"}),
    frozenset({"==", "!=", ">", ">=", "<", "<=", "=~", "!~", "in"}),
    frozenset({"+", "-"}),
    frozenset({"*", "/", "%"}),
    frozenset({"**"}),
)
_PREFIX = frozenset({"!", "-"})


@dataclass(frozen=True, slots=True)
class Literal:
    """A number, string or boolean written in the expression."""

    value: Value
    pos: int


@dataclass(frozen=True, slots=True)
class Unary:
    """A prefix operator (`!` or `-`) applied to an operand."""

    op: str
    operand: Node
    pos: int


@dataclass(frozen=True, slots=True)
class Binary:
    """An infix operator with its two operands; `pos` is the operator's offset."""

    op: str
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True, slots=True)
class ListNode:
    """A parenthesized list `(a, b, ...)`, only valid on the right of `in`."""

    items: tuple[Node, ...]
    pos: int


Node = Literal | Unary | Binary | ListNode


@dataclass(frozen=True, slots=True)
class Expr:
    """A parsed `when` expression: its source text and its syntax tree."""

    source: str
    root: Node


def _error(source: str, failure: PositionedError) -> ExpressionError:
    hint = f"; {failure.hint}" if failure.hint else ""
    return ExpressionError(f"when '{source}': {failure.message} at column {failure.pos + 1}{hint}")


# ---------------------------------------------------------------------------------------------
# Parser


class _Parser:
    """Recursive descent over the token list; one method per kind of construct."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self) -> Token:
        return self.tokens[self.index]

    def previous(self) -> Token | None:
        return self.tokens[self.index - 1] if self.index else None

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> Node:
        node = self.binary(0)
        token = self.peek()
        if token.kind == ")":
            raise PositionedError("unexpected ')' with no matching '('", token.pos)
        if token.kind != "end":
            raise self.unexpected(token)
        return node

    def binary(self, level: int) -> Node:
        if level == len(_LEVELS):
            return self.prefix()
        left = self.binary(level + 1)
        while self.peek().kind == "op" and self.peek().text in _LEVELS[level]:
            op = self.advance()
            right = self.binary(level + 1)
            left = Binary(op.text, left, right, op.pos)
        return left

    def prefix(self) -> Node:
        token = self.peek()
        if token.kind == "op" and token.text in _PREFIX:
            self.advance()
            return Unary(token.text, self.prefix(), token.pos)
        return self.primary()

    def primary(self) -> Node:
        token = self.peek()
        if token.kind == "value":
            self.advance()
            return Literal(token.value, token.pos)
        if token.kind == "(":
            self.advance()
            return self.group(token)
        raise self.missing_value(token)

    def group(self, opening: Token) -> Node:
        items = [self.binary(0)]
        while self.peek().kind == ",":
            self.advance()
            items.append(self.binary(0))
        token = self.peek()
        if token.kind == "end":
            raise PositionedError("'(' is never closed", opening.pos)
        if token.kind != ")":
            raise self.unexpected(token)
        self.advance()
        return items[0] if len(items) == 1 else ListNode(tuple(items), opening.pos)

    def missing_value(self, token: Token) -> PositionedError:
        before = self.previous()
        found = "" if token.kind == "end" else f", found '{token.text}'"
        if before is None:
            if token.kind == "end":
                return PositionedError("the expression is empty", token.pos)
            return PositionedError(f"expected a value before '{token.text}'", token.pos)
        return PositionedError(f"expected a value after '{before.text}'{found}", token.pos)

    def unexpected(self, token: Token) -> PositionedError:
        before = self.previous()
        after = f" after '{before.text}'" if before else ""
        hint = "expected an operator such as '==' or '&&'"
        if token.text in ("and", "or", "not"):
            hint += "; write '&&', '||' and '!' for and, or, not"
        elif before and before.text == before.value and self.spaced(before, token):
            hint += "; quote text that contains spaces"
        return PositionedError(f"unexpected '{token.text}'{after}", token.pos, hint)

    def spaced(self, before: Token, token: Token) -> bool:
        return token.kind in ("value", "(") and token.pos > before.pos + len(before.text)


def _check_tree(node: Node, allowed: bool) -> None:
    """Lists are values only on the right of `in`, `in` needs one there, patterns must compile."""
    match node:
        case ListNode():
            if not allowed:
                raise PositionedError(
                    "a list '(a, b)' is only allowed on the right of 'in'", node.pos
                )
            for item in node.items:
                _check_tree(item, False)
        case Unary():
            _check_tree(node.operand, False)
        case Binary():
            if node.op == "in" and not isinstance(node.right, ListNode):
                raise PositionedError("'in' needs a list on its right, e.g. x in (a, b)", node.pos)
            _check_tree(node.left, False)
            _check_tree(node.right, node.op == "in")
            _check_regex(node)


def _check_regex(node: Binary) -> None:
    """A constant pattern is compiled while parsing, as govaluate does."""
    if node.op in ("=~", "!~") and isinstance(node.right, Literal):
        pattern = node.right.value
        if isinstance(pattern, str):
            _compile(pattern, node.right.pos)


def parse(text: str) -> Expr:
    """Parse a `when` expression; raise ExpressionError saying what is wrong and where."""
    try:
        root = _Parser(tokenize(text)).parse()
        _check_tree(root, False)
    except PositionedError as failure:
        raise _error(text, failure) from None
    except RecursionError:
        raise ExpressionError(f"when '{text}': too long or nested too deeply") from None
    return Expr(text, root)


# ---------------------------------------------------------------------------------------------
# Evaluator

_Operand = Value | tuple[Value, ...]


def evaluate(expr: Expr) -> Value:
    """Evaluate a parsed expression; raise ExpressionError on a type error."""
    try:
        return _scalar(_eval(expr.root), expr.root)
    except PositionedError as failure:
        raise _error(expr.source, failure) from None
    except RecursionError:
        raise ExpressionError(f"when '{expr.source}': too long or nested too deeply") from None


def evaluate_when(text: str) -> bool:
    """Parse and evaluate a `when` condition; an empty one is true, as in Argo."""
    if text == "":
        return True
    result = evaluate(parse(text))
    if not isinstance(result, bool):
        raise ExpressionError(f"when '{text}' must be true or false, got '{go_string(result)}'")
    return result


def _eval(node: Node) -> _Operand:
    match node:
        case Literal():
            return node.value
        case Unary():
            return _eval_unary(node.op, _scalar(_eval(node.operand), node), node.pos)
        case Binary():
            return _eval_binary(node)
        case ListNode():
            return tuple(_scalar(_eval(item), item) for item in node.items)


def _scalar(value: _Operand, node: Node) -> Value:
    if isinstance(value, tuple):  # unreachable after _check_tree; kept for the type checker
        raise PositionedError("a list is not a value", node.pos)
    return value


def _eval_unary(op: str, value: Value, pos: int) -> Value:
    if op == "!":
        if not isinstance(value, bool):
            raise PositionedError(f"'!' needs true or false, got {_describe(value)}", pos)
        return not value
    if not isinstance(value, float):
        raise PositionedError(f"'-' needs a number, got {_describe(value)}", pos)
    return -value


def _eval_binary(node: Binary) -> Value:
    if node.op in ("&&", "||"):
        return _eval_logical(node)
    left = _scalar(_eval(node.left), node.left)
    right = _eval(node.right)
    if isinstance(right, tuple):
        return any(_same(left, item) for item in right)
    return _OPERATORS[node.op](left, right, node.pos)


def _eval_logical(node: Binary) -> bool:
    left = _scalar(_eval(node.left), node.left)
    if isinstance(left, bool) and left == (node.op == "||"):
        return left  # short-circuit, before the right side is evaluated or checked
    right = _scalar(_eval(node.right), node.right)
    if isinstance(left, bool) and isinstance(right, bool):
        return right
    bad = right if isinstance(left, bool) else left
    raise PositionedError(f"'{node.op}' needs true or false, got {_describe(bad)}", node.pos)


def _same(left: Value, right: Value) -> bool:
    """Go's reflect.DeepEqual on govaluate values: same type and equal."""
    return type(left) is type(right) and left == right


def _describe(value: Value) -> str:
    kind = (
        "a boolean"
        if isinstance(value, bool)
        else "a number"
        if isinstance(value, float)
        else "text"
    )
    return f"'{go_string(value)}' ({kind})"


def _equal(left: Value, right: Value, pos: int) -> Value:
    return _same(left, right)


def _not_equal(left: Value, right: Value, pos: int) -> Value:
    return not _same(left, right)


def _compare(op: str) -> Callable[[Value, Value, int], Value]:
    order = _ORDER[op]

    def compare(left: Value, right: Value, pos: int) -> Value:
        if isinstance(left, float) and isinstance(right, float):
            return bool(order(left, right))
        if isinstance(left, str) and isinstance(right, str):
            return bool(order(left, right))
        raise PositionedError(
            f"'{op}' compares two numbers or two strings, "
            f"got {_describe(left)} and {_describe(right)}",
            pos,
        )

    return compare


_ORDER = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


def _matcher(negate: bool) -> Callable[[Value, Value, int], Value]:
    op = "!~" if negate else "=~"

    def match(left: Value, right: Value, pos: int) -> Value:
        if not (isinstance(left, str) and isinstance(right, str)):
            raise PositionedError(
                f"'{op}' needs text on both sides, got {_describe(left)} and {_describe(right)}",
                pos,
            )
        found = _compile(right, pos).search(left) is not None
        return found != negate

    return match


def _compile(pattern: str, pos: int) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise PositionedError(f"invalid regular expression '{pattern}': {exc}", pos) from None


def _add(left: Value, right: Value, pos: int) -> Value:
    if isinstance(left, float) and isinstance(right, float):
        return left + right
    if isinstance(left, str) or isinstance(right, str):
        return go_string(left) + go_string(right)
    raise PositionedError(
        f"'+' adds numbers or joins text, got {_describe(left)} and {_describe(right)}", pos
    )


def _arithmetic(
    op: str, apply: Callable[[float, float], float]
) -> Callable[[Value, Value, int], Value]:
    def arithmetic(left: Value, right: Value, pos: int) -> Value:
        if isinstance(left, float) and isinstance(right, float):
            return apply(left, right)
        bad = right if isinstance(left, float) else left
        raise PositionedError(
            f"'{op}' needs numbers, got {_describe(bad)}", pos, _hint(op, left, right)
        )

    return arithmetic


def _hint(op: str, left: Value, right: Value) -> str:
    if op == "-" and isinstance(left, str) and isinstance(right, str):
        return f"to use a word with '-' as text, quote it: '{left}-{right}'"
    return ""


def _divide(left: float, right: float) -> float:
    if right != 0:
        return left / right
    if left == 0 or math.isnan(left):
        return math.nan
    return math.copysign(math.inf, left) * math.copysign(1.0, right)


def _modulo(left: float, right: float) -> float:
    try:
        return math.fmod(left, right)  # Go's math.Mod: the sign of the dividend
    except ValueError:
        return math.nan


def _power(left: float, right: float) -> float:
    odd = right.is_integer() and right % 2 == 1
    try:
        return math.pow(left, right)
    except OverflowError:
        return -math.inf if left < 0 and odd else math.inf
    except ValueError:  # Go's math.Pow: 0 ** negative is infinite, the rest NaN
        if left == 0:
            return math.copysign(math.inf, left) if odd else math.inf
        return math.nan


_OPERATORS: dict[str, Callable[[Value, Value, int], Value]] = {
    "==": _equal,
    "!=": _not_equal,
    **{op: _compare(op) for op in _ORDER},
    "=~": _matcher(negate=False),
    "!~": _matcher(negate=True),
    "+": _add,
    "-": _arithmetic("-", lambda a, b: a - b),
    "*": _arithmetic("*", lambda a, b: a * b),
    "/": _arithmetic("/", _divide),
    "%": _arithmetic("%", _modulo),
    "**": _arithmetic("**", _power),
}


def go_string(value: Value) -> str:
    """Format a value as Go's `%v` does: true/false, 1, 1.5, 1e+06, the text itself."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return _go_float(value)


def _go_float(value: float) -> str:
    """strconv.FormatFloat(v, 'g', -1, 64): shortest digits, exponent below 1e-4 or from 1e6."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign, digit_tuple, exponent = Decimal(repr(value)).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    point = len(digits) + int(exponent)  # digits before the decimal point
    prefix = "-" if sign else ""
    exp = point - 1
    if exp < -4 or exp >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return prefix + digits + "0" * (point - len(digits))
    return f"{prefix}{digits[:point]}.{digits[point:]}"
