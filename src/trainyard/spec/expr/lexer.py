"""Tokens of the expr language: numbers, strings, names, operators, with their columns."""

from __future__ import annotations

import re
from dataclasses import dataclass

from trainyard.core.errors import ExpressionError

WORD_OPERATORS = frozenset(
    {"and", "or", "not", "in", "matches", "contains", "startsWith", "endsWith"}
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "0": "\0"}
_PATTERNS = [
    (
        "number",
        r"0[xX][0-9a-fA-F_]+|(?:\d[\d_]*)?\.\d[\d_]*(?:[eE][+-]?\d+)?|\d[\d_]*(?:[eE][+-]?\d+)?",
    ),
    ("name", r"[A-Za-z_$][A-Za-z0-9_$]*"),
    ("op", r"\?\?|\?\.|\*\*|==|!=|<=|>=|&&|\|\||\.\.|[-+*/%^<>!?:.,()\[\]{}|#]"),
]
_TOKEN = re.compile("|".join(f"(?P<{kind}>{pattern})" for kind, pattern in _PATTERNS))


@dataclass(frozen=True)
class Token:
    """One token; `pos` is its 0-based offset in the expression."""

    kind: str  # number | string | name | op | end
    text: str
    pos: int
    value: object = None


class ExprSyntaxError(ExpressionError):
    """An expression that cannot be parsed; `.column` is 1-based, `.reason` the bare message."""

    def __init__(self, source: str, pos: int, reason: str) -> None:
        self.column = pos + 1
        self.reason = reason
        super().__init__(f"{reason} at column {pos + 1} of expression '{source}'")


def fail(source: str, pos: int, message: str) -> ExprSyntaxError:
    """The error for `source` at offset `pos`."""
    return ExprSyntaxError(source, pos, message)


def tokenize(source: str) -> list[Token]:
    """The tokens of `source`, ending with an `end` token; ExpressionError on a bad character."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(source):
        char = source[pos]
        if char.isspace():
            pos += 1
            continue
        if char in "'\"":
            text, value, pos = _string(source, pos)
            tokens.append(Token("string", text, pos - len(text), value))
            continue
        if char == "`":
            end = source.find("`", pos + 1)
            if end < 0:
                raise fail(source, pos, "unterminated string")
            tokens.append(Token("string", source[pos : end + 1], pos, source[pos + 1 : end]))
            pos = end + 1
            continue
        match = _TOKEN.match(source, pos)
        if match is None:
            raise fail(source, pos, f"unexpected character {char!r}")
        kind = match.lastgroup or "op"
        text = match.group(0)
        tokens.append(Token(kind, text, pos, _number(text) if kind == "number" else None))
        pos += len(text)
    tokens.append(Token("end", "", len(source)))
    return tokens


def _number(text: str) -> int | float:
    clean = text.replace("_", "")
    if clean[:2].lower() == "0x":
        return int(clean, 16)
    if any(c in clean for c in ".eE"):
        return float(clean)
    return int(clean)


def _string(source: str, start: int) -> tuple[str, str, int]:
    quote = source[start]
    out: list[str] = []
    pos = start + 1
    while pos < len(source):
        char = source[pos]
        if char == quote:
            return source[start : pos + 1], "".join(out), pos + 1
        if char == "\\" and pos + 1 < len(source):
            nxt = source[pos + 1]
            if nxt == "u" and pos + 5 < len(source):
                out.append(chr(int(source[pos + 2 : pos + 6], 16)))
                pos += 6
                continue
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            pos += 2
            continue
        out.append(char)
        pos += 1
    raise fail(source, start, "unterminated string")
