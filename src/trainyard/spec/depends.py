"""DAG `depends` logic: parsing `A && (B.Failed || C.Skipped)` and deciding it from task results.

Semantics follow Argo (workflow/common/ancestry.go and dagContext.evaluateDependsLogic):

- `task.Result` is one of Succeeded, Failed, Errored, Skipped, Omitted, Daemoned, AnySucceeded,
  AllFailed; AnySucceeded/AllFailed look at the items of a task with `withItems`/`withParam`.
- A bare task name `A` means `(A.Succeeded || A.Skipped || A.Daemoned)`, plus `A.Failed` and
  `A.Errored` when task A has `continueOn.failed` / `continueOn.error`.
- The legacy `dependencies: [A, B]` means `A && B`.
- `!` binds tighter than `&&`, which binds tighter than `||`; parentheses group.

Deviation: Argo hands the text to the expr language, which also reads the keywords `and`, `or`,
`not`; only `&&`, `||` and `!` are accepted here, and the keywords get a hint saying so.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields

from trainyard.core.errors import ExpressionError

RESULTS = (
    "Succeeded",
    "Failed",
    "Errored",
    "Skipped",
    "Omitted",
    "Daemoned",
    "AnySucceeded",
    "AllFailed",
)
_TASK_NAME = re.compile(r"[A-Za-z0-9][-A-Za-z0-9_]*")
_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<name>[A-Za-z0-9][-A-Za-z0-9_]*)(?P<dot>\.(?P<result>\w*))?"
    r"|(?P<op>&&|\|\||!|\(|\))"
)


@dataclass(frozen=True, slots=True)
class TaskResults:
    """How one finished task ended, as the flags a `depends` expression can test."""

    succeeded: bool = False
    failed: bool = False
    errored: bool = False
    skipped: bool = False
    omitted: bool = False
    daemoned: bool = False
    any_succeeded: bool = False
    all_failed: bool = False


_FIELD = dict(zip(RESULTS, (f.name for f in fields(TaskResults)), strict=True))


@dataclass(frozen=True, slots=True)
class TaskRef:
    """`task.Result`, or a bare `task` when `result` is None."""

    task: str
    result: str | None = None


@dataclass(frozen=True, slots=True)
class Not:
    """`!operand`."""

    operand: DependsExpr


@dataclass(frozen=True, slots=True)
class And:
    """All operands hold; no operands at all holds."""

    operands: tuple[DependsExpr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """At least one operand holds."""

    operands: tuple[DependsExpr, ...]


DependsExpr = TaskRef | Not | And | Or


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "name" | "op" | "end"
    text: str
    pos: int
    result: str | None = None


class _PositionedError(Exception):
    def __init__(self, message: str, pos: int, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos
        self.hint = hint


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise _PositionedError(f"unexpected '{text[pos]}'", pos)
        if match["name"]:
            tokens.append(_name_token(match))
        elif match["op"]:
            tokens.append(_Token("op", match["op"], pos))
        pos = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _name_token(match: re.Match[str]) -> _Token:
    name, result = match["name"], match["result"]
    if match["dot"] is None:
        return _Token("name", name, match.start())
    pos = match.start("result")
    if not result:
        raise _PositionedError(f"expected a result after '{name}.'", pos, _valid_results())
    if result not in _FIELD:
        close = difflib.get_close_matches(result, RESULTS, n=1)
        guess = f" (did you mean '{close[0]}'?)" if close else ""
        message = f"unknown result '{result}' for task '{name}'{guess}"
        raise _PositionedError(message, pos, _valid_results())
    return _Token("name", match.group(0), match.start(), result)


def _valid_results() -> str:
    return "valid results are " + ", ".join(RESULTS)


class _Parser:
    """Recursive descent: or -> and -> not -> primary."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> DependsExpr:
        expr = self.either()
        token = self.peek()
        if token.kind != "end":
            raise self.unexpected(token)
        return expr

    def either(self) -> DependsExpr:
        operands = [self.both()]
        while self.peek().text == "||":
            self.advance()
            operands.append(self.both())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def both(self) -> DependsExpr:
        operands = [self.negation()]
        while self.peek().text == "&&":
            self.advance()
            operands.append(self.negation())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def negation(self) -> DependsExpr:
        if self.peek().text == "!":
            self.advance()
            return Not(self.negation())
        return self.primary()

    def primary(self) -> DependsExpr:
        token = self.advance()
        if token.kind == "name":
            return TaskRef(token.text.split(".")[0], token.result)
        if token.text == "(":
            expr = self.either()
            if self.peek().kind == "end":
                raise _PositionedError("'(' is never closed", token.pos)
            if self.peek().text != ")":
                raise self.unexpected(self.peek())
            self.advance()
            return expr
        before = self.tokens[self.index - 2].text if self.index > 1 else ""
        if not before and token.kind == "end":
            raise _PositionedError("the expression is empty", token.pos)
        where = f" after '{before}'" if before else ""
        found = f", found '{token.text}'" if token.text else ""
        raise _PositionedError(f"expected a task name{where}{found}", token.pos)

    def unexpected(self, token: _Token) -> _PositionedError:
        if token.text == ")":
            return _PositionedError("unexpected ')' with no matching '('", token.pos)
        hint = "write '&&', '||' and '!' for and, or, not" if token.text in _KEYWORDS else ""
        before = self.tokens[self.index - 1].text
        message = f"expected '&&' or '||' between '{before}' and '{token.text}'"
        return _PositionedError(message, token.pos, hint)


_KEYWORDS = frozenset({"and", "or", "not", "AND", "OR", "NOT"})


@functools.lru_cache(maxsize=4096)
def parse_depends(text: str) -> DependsExpr:
    """Parse a `depends` expression; raise ExpressionError saying what is wrong and where.

    Parsed trees are immutable, so each distinct text is parsed once per process.
    """
    try:
        return _Parser(_tokenize(text)).parse()
    except _PositionedError as failure:
        hint = f"; {failure.hint}" if failure.hint else ""
        column = failure.pos + 1
        raise ExpressionError(
            f"depends '{text}': {failure.message} at column {column}{hint}"
        ) from None
    except RecursionError:
        raise ExpressionError(f"depends '{text}': nested too deeply") from None


def from_dependencies(names: list[str]) -> DependsExpr:
    """The legacy `dependencies: [A, B]` list, which means `A && B`."""
    for name in names:
        if not _TASK_NAME.fullmatch(name):
            raise ExpressionError(f"dependencies: '{name}' is not a task name")
    return And(tuple(TaskRef(name) for name in names))


def dependency_names(expr: DependsExpr) -> set[str]:
    """Every task the expression refers to."""
    return {ref.task for ref in _refs(expr)}


def _refs(expr: DependsExpr) -> Iterator[TaskRef]:
    match expr:
        case TaskRef():
            yield expr
        case Not():
            yield from _refs(expr.operand)
        case And() | Or():
            for operand in expr.operands:
                yield from _refs(operand)


def evaluate_depends(
    expr: DependsExpr,
    results: Mapping[str, TaskResults],
    continue_on: Mapping[str, tuple[bool, bool]],
) -> bool:
    """Decide a `depends` expression once every task it names has finished.

    `continue_on` maps a task to its (continueOn.failed, continueOn.error); a task missing there
    has neither. Raises KeyError when a task the expression names has no entry in `results`.
    """
    missing = sorted(dependency_names(expr) - results.keys())
    if missing:
        raise KeyError(f"depends needs the results of tasks that have none: {', '.join(missing)}")
    return _decide(expr, results, continue_on)


def _decide(
    expr: DependsExpr,
    results: Mapping[str, TaskResults],
    continue_on: Mapping[str, tuple[bool, bool]],
) -> bool:
    match expr:
        case TaskRef(task=task, result=result):
            if result is None:
                return _bare(results[task], continue_on.get(task, (False, False)))
            return bool(getattr(results[task], _FIELD[result]))
        case Not():
            return not _decide(expr.operand, results, continue_on)
        case And():
            return all(_decide(operand, results, continue_on) for operand in expr.operands)
        case Or():
            return any(_decide(operand, results, continue_on) for operand in expr.operands)


def _bare(result: TaskResults, continue_on: tuple[bool, bool]) -> bool:
    """A bare task name: it succeeded, was skipped or runs as a daemon, or failed acceptably."""
    on_failed, on_error = continue_on
    return (
        result.succeeded
        or result.skipped
        or result.daemoned
        or (on_failed and result.failed)
        or (on_error and result.errored)
    )
