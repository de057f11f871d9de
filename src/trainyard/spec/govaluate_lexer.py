"""The tokenizer of govaluate expressions, the first step of reading an Argo `when` condition.

See trainyard.spec.govaluate for the language; this module turns its text into tokens.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

Value = bool | float | str

_SUPPORTED = frozenset(
    {"==", "!=", ">", ">=", "<", "<=", "=~", "!~", "&&", "||", "!", "+", "-", "*", "/", "%", "**"}
)
_UNSUPPORTED = frozenset({"&", "|", "^", "<<", ">>", "~", "?", ":", "??"})
_NOT_OPERATOR_CHARS = frozenset("()[]'\"")
_NUMBER = re.compile(r"[0-9]+\.?[0-9]*|\.[0-9]+")


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, the text as written, its offset, and its value if any."""

    kind: str  # "value" | "op" | "(" | ")" | "," | "end"
    text: str  # as written in the source
    pos: int
    value: Value = ""


class PositionedError(Exception):
    """What went wrong and where (a 0-based offset); parse/evaluate add the expression."""

    def __init__(self, message: str, pos: int, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos
        self.hint = hint


def tokenize(text: str) -> list[Token]:
    """Split an expression into tokens, ending with an "end" token; PositionedError if bad."""
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        token, i = _read_token(text, i)
        tokens.append(token)
    tokens.append(Token("end", "", len(text)))
    return tokens


def _read_token(text: str, i: int) -> tuple[Token, int]:
    ch = text[i]
    if ch.isdecimal() or ch == ".":
        return _read_number(text, i)
    if ch in "(),":
        return Token(ch, ch, i), i + 1
    if ch == "[":
        return _read_bracketed(text, i)
    if ch.isalpha():
        return _read_word(text, i)
    if ch in "'\"":
        return _read_string(text, i)
    return _read_operator(text, i)


def _read_number(text: str, i: int) -> tuple[Token, int]:
    if text.startswith("0x", i):
        end = _scan(text, i + 2, lambda c: c in "0123456789abcdefABCDEF")
        if end == i + 2:
            raise PositionedError("'0x' must be followed by hexadecimal digits", i)
        return Token("value", text[i:end], i, float(int(text[i + 2 : end], 16))), end
    end = _scan(text, i, lambda c: c.isdecimal() or c == ".")
    word = text[i:end]
    if not _NUMBER.fullmatch(word):
        hint = f"quote it to use it as text: '{word}'" if word != "." else ""
        raise PositionedError(f"'{word}' is not a number", i, hint)
    return Token("value", word, i, float(word)), end


def _scan(text: str, i: int, accept: Callable[[str], bool]) -> int:
    while i < len(text) and accept(text[i]):
        i += 1
    return i


def _read_word(text: str, i: int) -> tuple[Token, int]:
    end = _scan(text, i, lambda c: c.isalnum() or c in "_.")
    word = text[i:end]
    if word in ("true", "false"):
        return Token("value", word, i, word == "true"), end
    if word in ("in", "IN"):
        return Token("op", "in", i), end
    if "." in word:
        raise PositionedError(
            f"'{word}' contains '.', which govaluate reads as a field access",
            i,
            f"quote it to use it as text: '{word}'",
        )
    return Token("value", word, i, word), end


def _read_string(text: str, i: int) -> tuple[Token, int]:
    chars: list[str] = []
    j = i + 1
    while j < len(text):
        ch = text[j]
        if ch == "\\" and j + 1 < len(text):
            chars.append(text[j + 1])
            j += 2
            continue
        if ch in "'\"":
            return Token("value", text[i : j + 1], i, "".join(chars)), j + 1
        chars.append(ch)
        j += 1
    raise PositionedError(
        "unclosed string",
        i,
        "as in Argo, either quote character ends a string; "
        "write a backslash before a quote that is part of the text",
    )


def _read_bracketed(text: str, i: int) -> tuple[Token, int]:
    end = text.find("]", i + 1)
    if end < 0:
        raise PositionedError("unclosed '['", i)
    inner = re.sub(r"\\(.)", r"\1", text[i + 1 : end])
    return Token("value", text[i : end + 1], i, inner), end + 1


def _read_operator(text: str, i: int) -> tuple[Token, int]:
    end = _scan(text, i, lambda c: not (c.isalnum() or c.isspace() or c in _NOT_OPERATOR_CHARS))
    op = text[i:end]
    if op in _SUPPORTED:
        return Token("op", op, i), end
    if op in _UNSUPPORTED:
        raise PositionedError(f"operator '{op}' is not supported", i, _operator_hint(op))
    raise PositionedError(f"unknown operator '{op}'", i, _operator_hint(op))


def _operator_hint(op: str) -> str:
    if op in ("=", "==="):
        return "use '==' to compare"
    if op in ("&", "|"):
        return f"use '{op * 2}' for logical {'and' if op == '&' else 'or'}"
    for cut in range(1, len(op)):
        if op[:cut] in _SUPPORTED and op[cut:] in _SUPPORTED:
            return f"put a space between operators: '{op[:cut]} {op[cut:]}'"
    return ""
