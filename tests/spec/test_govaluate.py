"""Tests for Argo `when` conditions in govaluate syntax."""

from __future__ import annotations

import math
import random

import pytest

from trainyard.core.errors import ExpressionError
from trainyard.spec.govaluate import (
    Binary,
    Literal,
    Unary,
    evaluate,
    evaluate_when,
    go_string,
    parse,
)
from trainyard.spec.variables import substitute


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Argo's examples and what users commonly write, after substitution
        ("heads == heads", True),
        ("tails == heads", False),
        ("heads != tails", True),
        ("Succeeded == Succeeded", True),
        ("5 > 3", True),
        ("3 > 5", False),
        ("1.5 < 2", True),
        ('"a" =~ "^a"', True),
        ("'b' =~ '^a'", False),
        ("(a == a) && !(b == c)", True),
        ("hello == 'hello'", True),
        ('hello == "hello"', True),
        ("[my value] == 'my value'", True),
        # numbers compare numerically, strings byte-wise
        ("5 == 5.0", True),
        ("10 > 9", True),
        ("'10' < '9'", True),
        ("'b' > 'a'", True),
        ("b >= b", True),
        ("a <= b", True),
        ("2 >= 3", False),
        ("0x1F == 31", True),
        (".5 == 0.5", True),
        ("1. == 1", True),
        # equality is Go's DeepEqual: same type and value
        ("5 == '5'", False),
        ("5 != '5'", True),
        ("true == 'true'", False),
        ("true == true", True),
        ("false != true", True),
        ("0/0 == 0/0", False),
        # regular expressions search anywhere, like Go's MatchString
        ("'abc' =~ 'b'", True),
        ("'abc' !~ '^b'", True),
        ("'v1.2.3' =~ '^v[0-9]+\\\\.'", True),
        # arithmetic, precedence and grouping
        ("1 + 2 * 3 == 7", True),
        ("(1 + 2) * 3 == 9", True),
        ("10 - 4 - 3 == 3", True),
        ("12 / 2 / 3 == 2", True),
        ("10 % 3 == 1", True),
        ("-7 % 3 == -1", True),
        ("2 ** 10 == 1024", True),
        ("-2 ** 2 == 4", True),
        ("1 - -1 == 2", True),
        ("'a' + 'b' == ab", True),
        ("'a' + 1 == a1", True),
        # logic: ! binds tightest, && before ||
        ("!true == false", True),
        ("true || false && false", True),
        ("(true || false) && false", False),
        ("!(1 > 2)", True),
        ("! (a == b) && c == c", True),
        # short-circuit: the right side is neither evaluated nor type-checked
        ("false && ('x' > 1)", False),
        ("true || ('x' > 1)", True),
        # in with a list
        ("1 in (1, 2)", True),
        ("3 in (1, 2)", False),
        ("'x' in (1, 'x')", True),
        ("'1' in (1, 2)", False),
        ("b IN (a, b, c)", True),
        # escapes: a backslash makes the next character literal
        ("'it\\'s' == \"it\\'s\"", True),
        ('"a\\"b" == \'a\\"b\'', True),
    ],
)
def test_conditions(text: str, expected: bool) -> None:
    assert evaluate_when(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", 3.0),
        ("1 + 2", 3.0),
        ("'a' + 1000000", "a1e+06"),
        ("'n=' + 1.5", "n=1.5"),
        ("'flag ' + true", "flag true"),
        ("hello", "hello"),
        ("'two words'", "two words"),
        ("-(2)", -2.0),
        ("1/0", math.inf),
        ("-1/0", -math.inf),
    ],
)
def test_values(text: str, expected: float | str) -> None:
    result = evaluate(parse(text))
    assert result == expected
    assert type(result) is type(expected)


def test_tree_shape_and_positions() -> None:
    expr = parse("!a == b")
    assert expr.source == "!a == b"
    assert expr.root == Binary("==", Unary("!", Literal("a", 1), 0), Literal("b", 6), 3)


def test_when_after_substitution() -> None:
    """Argo's coin-flip example: the output is substituted, then the condition evaluated."""
    when = "{{steps.flip-coin.outputs.result}} == heads"
    for result, expected in [("heads", True), ("tails", False)]:
        text = substitute(when, {"steps.flip-coin.outputs.result": result})
        assert text == f"{result} == heads"
        assert evaluate_when(text) is expected


def test_empty_when_is_true() -> None:
    assert evaluate_when("") is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a ==", "when 'a ==': expected a value after '==' at column 5"),
        ("((a == b)", "when '((a == b)': '(' is never closed at column 1"),
        ("a === b", "when 'a === b': unknown operator '===' at column 3; use '=='"),
        ("a = b", "unknown operator '=' at column 3; use '=='"),
        ("a==-1", "unknown operator '==-' at column 2; put a space between operators: '== -'"),
        ("!!true", "unknown operator '!!' at column 1"),
        ("a & b", "operator '&' is not supported at column 3; use '&&'"),
        ("a ? b : c", "operator '?' is not supported at column 3"),
        ("== a", "expected a value before '==' at column 1"),
        ("a == )", "expected a value after '==', found ')' at column 6"),
        ("()", "expected a value after '(', found ')' at column 2"),
        ("a)", "unexpected ')' with no matching '(' at column 2"),
        ("a b", "unexpected 'b' after 'a'"),
        ("a b == c", "at column 3; expected an operator such as '==' or '&&'; quote text"),
        ("a == b and c == d", "unexpected 'and' after 'b'"),
        ("1e5 > 1", "unexpected 'e5' after '1' at column 2"),
        ("1.2.3 == 1.2.3", "'1.2.3' is not a number at column 1; quote it to use it as text"),
        ("model.pt == x", "'model.pt' contains '.'"),
        ("0x == 1", "'0x' must be followed by hexadecimal digits"),
        ("'abc == abc", "unclosed string at column 1; as in Argo, either quote character"),
        ('"it\'s" == x', "unclosed string at column 6"),
        ("[abc == abc", "unclosed '[' at column 1"),
        ("(1, 2)", "a list '(a, b)' is only allowed on the right of 'in' at column 1"),
        ("1 in 2", "'in' needs a list on its right"),
        ("a =~ '('", "invalid regular expression '('"),
        ("", "the expression is empty"),
        ("   ", "the expression is empty"),
        ("(" * 2000 + "a" + ")" * 2000, "nested too deeply"),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"when '{text}': ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x == my-value", "'-' needs numbers, got 'my' (text) at column 8"),
        ("x == my-value", "quote it: 'my-value'"),
        ("5 > '3'", "'>' compares two numbers or two strings, got '5' (a number) and '3' (text)"),
        ("true < false", "got 'true' (a boolean) and 'false' (a boolean)"),
        ("'x' && true", "'&&' needs true or false, got 'x' (text) at column 5"),
        ("true && 'x'", "'&&' needs true or false, got 'x' (text)"),
        ("false || 1", "'||' needs true or false, got '1' (a number)"),
        ("!a == b", "'!' needs true or false, got 'a' (text) at column 1"),
        ("-a", "'-' needs a number, got 'a' (text)"),
        ("1 =~ 1", "'=~' needs text on both sides"),
        ("true + false", "'+' adds numbers or joins text"),
        ("2 * x", "'*' needs numbers, got 'x' (text)"),
    ],
)
def test_evaluation_errors(text: str, message: str) -> None:
    expr = parse(text)
    with pytest.raises(ExpressionError) as caught:
        evaluate(expr)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("text", "shown"),
    [("heads", "heads"), ("1 + 1", "2"), ("0.5", "0.5"), ("'a' + 'b'", "ab")],
)
def test_when_must_be_boolean(text: str, shown: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate_when(text)
    assert str(caught.value) == f"when '{text}' must be true or false, got '{shown}'"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "true"),
        (False, "false"),
        ("text", "text"),
        (1.0, "1"),
        (-2.5, "-2.5"),
        (0.0, "0"),
        (-0.0, "-0"),
        (100000.0, "100000"),
        (1e6, "1e+06"),
        (123456789.0, "1.23456789e+08"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (1.5e-7, "1.5e-07"),
        (1e100, "1e+100"),
        (0.1 + 0.2, "0.30000000000000004"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (math.nan, "NaN"),
    ],
)
def test_go_string(value: bool | float | str, expected: str) -> None:
    assert go_string(value) == expected


def test_go_float_arithmetic_edges() -> None:
    assert math.isnan(evaluate(parse("0/0")))  # type: ignore[arg-type]
    assert math.isnan(evaluate(parse("1 % 0")))  # type: ignore[arg-type]
    assert evaluate(parse("0 ** -1")) == math.inf
    assert math.isnan(evaluate(parse("-8 ** 0.5")))  # type: ignore[arg-type]
    assert evaluate(parse("10 ** 400")) == math.inf
    assert evaluate(parse("-10 ** 401")) == -math.inf


def _random_condition(rng: random.Random, depth: int) -> tuple[str, bool]:
    """A random condition in govaluate syntax, with its truth computed independently."""
    if depth == 0 or rng.random() < 0.3:
        a, b = rng.randint(-5, 5), rng.randint(-5, 5)
        op, truth = rng.choice([("==", a == b), ("!=", a != b), ("<", a < b), (">=", a >= b)])
        return f"{a} {op} {b}", truth
    kind = rng.choice(["&&", "||", "!", "()"])
    if kind == "!":
        text, truth = _random_condition(rng, depth - 1)
        return f"!({text})", not truth
    if kind == "()":
        text, truth = _random_condition(rng, depth - 1)
        return f"({text})", truth
    (left, lt), (right, rt) = _random_condition(rng, depth - 1), _random_condition(rng, depth - 1)
    truth = (lt and rt) if kind == "&&" else (lt or rt)
    return f"({left}) {kind} ({right})", truth


def test_random_conditions_match_a_reference() -> None:
    rng = random.Random(20240501)
    for _ in range(500):
        text, truth = _random_condition(rng, depth=4)
        assert evaluate_when(text) is truth, text


def test_parse_is_deterministic_and_reusable() -> None:
    expr = parse("a == a && 2 > 1")
    assert evaluate(expr) is True
    assert evaluate(expr) is True
    assert parse("a == a && 2 > 1") == expr
