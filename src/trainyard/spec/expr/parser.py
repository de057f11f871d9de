"""Parse an expr expression into a syntax tree, with expr's operator precedence."""

from __future__ import annotations

from trainyard.spec.expr.lexer import ExprSyntaxError, Token, fail, tokenize
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

BINARY = {
    "or": 10, "||": 10, "and": 15, "&&": 15,
    "==": 20, "!=": 20, "<": 20, ">": 20, "<=": 20, ">=": 20,
    "in": 20, "not in": 20, "matches": 20, "contains": 20, "startsWith": 20, "endsWith": 20,
    "..": 25, "+": 30, "-": 30, "*": 60, "/": 60, "%": 60, "**": 100, "^": 100, "??": 500,
}  # fmt: skip
RIGHT_ASSOCIATIVE = frozenset({"**", "^"})
UNARY = {"not": 50, "!": 50, "-": 90, "+": 90}
CLOSURE_FUNCTIONS = frozenset(
    {"filter", "map", "all", "any", "none", "one", "count", "find", "findIndex", "sum"}
)
_LITERALS: dict[str, object] = {"true": True, "false": False, "nil": None}


def parse(source: str) -> Node:
    """The tree of `source`; ExprSyntaxError (an ExpressionError) with the column if invalid."""
    if not source.strip():
        raise fail(source, 0, "empty expression")
    return _Parser(source).parse()


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.index = 0
        self.closures = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def is_op(self, *texts: str) -> bool:
        return self.token.kind in ("op", "name") and self.token.text in texts

    def expect(self, text: str) -> Token:
        if not self.is_op(text) or self.token.kind == "string":
            raise self.error(f"expected '{text}'")
        return self.advance()

    def error(self, message: str, token: Token | None = None) -> ExprSyntaxError:
        token = token or self.token
        found = "the end" if token.kind == "end" else f"'{token.text}'"
        return fail(self.source, token.pos, f"{message}, found {found}")

    def parse(self) -> Node:
        node = self.expression()
        if self.token.kind != "end":
            raise self.error("expected an operator or the end of the expression")
        return node

    def expression(self, precedence: int = 0) -> Node:
        node = self.binary(precedence)
        if precedence == 0 and self.is_op("?"):
            start = self.advance()
            yes = self.expression()
            self.expect(":")
            no = self.expression()
            node = Conditional(start.pos, node, yes, no)
        while precedence == 0 and self.token.kind == "op" and self.token.text == "|":
            node = self.pipe(node)
        return node

    def pipe(self, piped: Node) -> Call:
        """`x | f(a)` is `f(x, a)`."""
        self.advance()
        name = self.advance()
        if name.kind != "name" or not self.is_op("("):
            raise self.error("expected a function call after '|'", name)
        return self.call(Name(name.pos, name.text), name.text, piped)

    def binary_operator(self) -> str | None:
        token = self.token
        if token.kind == "name" and token.text == "not":
            after = self.tokens[self.index + 1]
            return "not in" if after.kind == "name" and after.text == "in" else None
        if token.kind in ("op", "name") and token.text in BINARY:
            return token.text
        return None

    def binary(self, precedence: int) -> Node:
        left = self.unary()
        while True:
            op = self.binary_operator()
            if op is None or BINARY[op] < precedence:
                return left
            token = self.advance()
            if op == "not in":
                self.advance()
            level = BINARY[op] if op in RIGHT_ASSOCIATIVE else BINARY[op] + 1
            right = self.binary(level)
            left = Binary(token.pos, op, left, right)

    def unary(self) -> Node:
        token = self.token
        if token.kind in ("op", "name") and token.text in UNARY:
            self.advance()
            operand = self.binary(UNARY[token.text])
            return Unary(token.pos, "not" if token.text == "!" else token.text, operand)
        return self.postfix(self.primary())

    def primary(self) -> Node:
        token = self.advance()
        if token.kind in ("number", "string"):
            return Literal(token.pos, token.value)
        if token.kind == "name":
            if token.text in _LITERALS:
                return Literal(token.pos, _LITERALS[token.text])
            if self.is_op("("):
                return self.call(Name(token.pos, token.text), token.text)
            return Name(token.pos, token.text)
        if token.kind == "op":
            if token.text == "(":
                inner = self.expression()
                self.expect(")")
                return inner
            if token.text == "[":
                return Array(token.pos, tuple(self.listed("]")))
            if token.text == "{":
                return self.mapping(token)
            if token.text == "#" and self.closures:
                return Pointer(token.pos)
            if token.text == "." and self.closures and self.token.kind == "name":
                key = self.advance()
                return Member(token.pos, Pointer(token.pos), Literal(key.pos, key.text))
        raise self.error("expected a value", token)

    def listed(self, closing: str) -> list[Node]:
        items: list[Node] = []
        while not self.is_op(closing):
            items.append(self.expression())
            if not self.is_op(closing):
                self.expect(",")
        self.advance()
        return items

    def mapping(self, opening: Token) -> MapLiteral:
        pairs: list[tuple[Node, Node]] = []
        while not self.is_op("}"):
            token = self.advance()
            if token.kind in ("name", "string", "number"):
                key: Node = Literal(token.pos, token.text if token.kind == "name" else token.value)
            elif token.kind == "op" and token.text == "(":
                key = self.expression()
                self.expect(")")
            else:
                raise self.error("expected a map key", token)
            self.expect(":")
            pairs.append((key, self.expression()))
            if not self.is_op("}"):
                self.expect(",")
        self.advance()
        return MapLiteral(opening.pos, tuple(pairs))

    def call(self, func: Node, name: str, piped: Node | None = None) -> Call:
        start = self.expect("(")
        args: list[Node] = [] if piped is None else [piped]
        while not self.is_op(")"):
            if name in CLOSURE_FUNCTIONS and len(args) == 1:
                args.append(self.closure())
            else:
                args.append(self.expression())
            if not self.is_op(")"):
                self.expect(",")
        self.advance()
        return Call(start.pos, func, tuple(args))

    def closure(self) -> Closure:
        start = self.token
        self.closures += 1
        try:
            if self.is_op("{") and self.token.kind == "op":
                self.advance()
                body = self.expression()
                self.expect("}")
            else:
                body = self.expression()
        finally:
            self.closures -= 1
        return Closure(start.pos, body)

    def postfix(self, node: Node) -> Node:
        while True:
            token = self.token
            if token.kind != "op" or token.text not in (".", "?.", "["):
                return node
            self.advance()
            if token.text == "[":
                node = self.index_or_slice(node, token)
                continue
            key = self.advance()
            if key.kind != "name":
                raise self.error("expected a field name", key)
            if self.is_op("(") and self.token.kind == "op":
                node = self.call(Member(token.pos, node, Literal(key.pos, key.text)), key.text)
            else:
                node = Member(token.pos, node, Literal(key.pos, key.text), token.text == "?.")

    def index_or_slice(self, node: Node, opening: Token) -> Node:
        low = None if self.is_op(":") else self.expression()
        if self.is_op(":") and self.token.kind == "op":
            self.advance()
            high = None if self.is_op("]") else self.expression()
            self.expect("]")
            return Slice(opening.pos, node, low, high)
        self.expect("]")
        assert low is not None
        return Member(opening.pos, node, low)
