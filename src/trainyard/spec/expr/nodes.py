"""The syntax tree of an expr expression: one small frozen class per construct."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Node:
    """Any node; `pos` is its 0-based offset in the expression."""

    pos: int


@dataclass(frozen=True)
class Literal(Node):
    """A number, string, true, false or nil."""

    value: object


@dataclass(frozen=True)
class Name(Node):
    """A variable or function name."""

    name: str


@dataclass(frozen=True)
class Pointer(Node):
    """`#`, the current element inside a closure."""


@dataclass(frozen=True)
class Member(Node):
    """`obj.key`, `obj?.key` or `obj[key]`."""

    obj: Node
    key: Node
    optional: bool = False


@dataclass(frozen=True)
class Slice(Node):
    """`obj[low:high]`, either bound optional."""

    obj: Node
    low: Node | None
    high: Node | None


@dataclass(frozen=True)
class Call(Node):
    """`func(args...)`; a closure argument is a Closure node."""

    func: Node
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Closure(Node):
    """A predicate such as `{# > 1}` passed to filter, map, all, ..."""

    body: Node


@dataclass(frozen=True)
class Unary(Node):
    """`not x`, `!x`, `-x`, `+x`."""

    op: str
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    """`left op right`, including `and`, `in`, `not in`, `matches`, `??`, `..`."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Conditional(Node):
    """`test ? yes : no`."""

    test: Node
    yes: Node
    no: Node


@dataclass(frozen=True)
class Array(Node):
    """`[a, b, ...]`."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class MapLiteral(Node):
    """`{key: value, ...}`."""

    pairs: tuple[tuple[Node, Node], ...]
