"""Argo's expr language: lexing, precedence, types, functions, sprig, jsonpath and errors."""

from __future__ import annotations

import re
from typing import Any

import pytest

from trainyard.core.errors import ExpressionError
from trainyard.spec.check import check_text
from trainyard.spec.expr import evaluate, nested_env, parse, render, render_tag, unknown_names
from trainyard.spec.expr.jsonpath import jsonpath
from trainyard.spec.expr.lexer import ExprSyntaxError
from trainyard.spec.expr.values import EvalFailure
from trainyard.spec.variables import MissingVariable, substitute

FLAT = {
    "inputs.parameters.foo": "3",
    "inputs.parameters.my-param": "dash",
    "inputs.parameters": "[]",
    "workflow.name": "wf-1",
    "steps.a.outputs.result": '{"a": {"b": [10, 20]}, "n": 2}',
    "item": "7",
    "item.name": "x",
}
ENV = nested_env(FLAT)


def ev(source: str) -> Any:
    return evaluate(source, ENV)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 2 - 3", 5),
        ("2 ** 3 ** 2", 512.0),
        ("2 ^ 3", 8.0),
        ("-2 ** 2", -4.0),
        ("7 % 3", 1),
        ("-7 % 3", -1),
        ("10 / 4", 2.5),
        ("4 / 2", 2.0),
        ("1 + 2.5", 3.5),
        ("1_000 + 0x10", 1016),
        ("1e3", 1000.0),
        (".5 + .5", 1.0),
        ("'a' + \"b\"", "ab"),
        ("[1] + [2]", [1, 2]),
        ("1 < 2 and 2 < 3", True),
        ("1 < 2 && 3 < 2", False),
        ("false or true", True),
        ("not true", False),
        ("!false", True),
        ("not true == false", True),
        ("true || 1 / 0 > 1", True),
        ("false && 1 / 0 > 1", False),
        ("1 == 1.0", True),
        ("'1' == 1", False),
        ("true == 1", False),
        ("nil == nil", True),
        ("[1, 2] == [1, 2]", True),
        ("'b' > 'a'", True),
        ("1 < 2 ? 'yes' : 'no'", "yes"),
        ("1 > 2 ? 'yes' : 2 > 1 ? 'inner' : 'no'", "inner"),
        ("2 in [1, 2]", True),
        ("2.0 in [1, 2]", True),
        ("3 not in [1, 2]", True),
        ("'k' in {k: 1}", True),
        ("'abc' matches '^a.c$'", True),
        ("'abc' matches 'b'", True),
        ("'abc' contains 'bc'", True),
        ("'abc' startsWith 'ab'", True),
        ("'abc' endsWith 'bc'", True),
        ("1..3", [1, 2, 3]),
        ("nil ?? 'dflt'", "dflt"),
        ("missing ?? 'dflt'", "dflt"),
        ("'set' ?? 'dflt'", "set"),
        ("[1, 2, 3][0]", 1),
        ("[1, 2, 3][-1]", 3),
        ("[1, 2, 3][1:]", [2, 3]),
        ("[1, 2, 3][:2]", [1, 2]),
        ("'hello'[1:3]", "el"),
        ("{a: 1, 'b c': 2}['b c']", 2),
        ("{a: {b: 5}}.a.b", 5),
        ("{a: 1}.zzz", None),
        ("{a: 1}?.a", 1),
        ("nil?.a", None),
        ("'it\\'s'", "it's"),
        ("'tab\\there'", "tab\there"),
        ("`raw\\n`", "raw\\n"),
    ],
)
def test_operators_and_literals(source: str, expected: Any) -> None:
    result = ev(source)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("inputs.parameters.foo", "3"),
        ("asInt(inputs.parameters.foo) * 10", 30),
        ("asFloat(inputs.parameters.foo) / 2", 1.5),
        ("inputs.parameters['my-param']", "dash"),
        ("inputs['parameters']['foo']", "3"),
        ("workflow.name + '!'", "wf-1!"),
        ("item.name", "x"),  # `item` gives way to `item.name`, as in Argo
        ("jsonpath(steps.a.outputs.result, '$.a.b[1]')", 20),
        ("jsonpath(steps.a.outputs.result, '$.n')", 2),
        ("jsonpath(steps.a.outputs.result, '$.a.b[*]')", [10, 20]),
        ("jsonpath(steps.a.outputs.result, \"$['a']['b'][0]\")", 10),
        ("fromJSON(steps.a.outputs.result).a.b[0]", 10),
    ],
)
def test_argo_variables_as_nested_maps(source: str, expected: Any) -> None:
    assert ev(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("len('abc')", 3),
        ("len([1, 2])", 2),
        ("len({a: 1})", 1),
        ("int('42')", 42),
        ("asInt(3.9)", 3),
        ("float('1.5')", 1.5),
        ("string(12)", "12"),
        ("string(true)", "true"),
        ("string(2.0)", "2"),
        ("toJson({b: 1, a: [1, 'x']})", '{"a":[1,"x"],"b":1}'),
        ("toJson(1.0)", "1"),
        ("upper('ab')", "AB"),
        ("lower('AB')", "ab"),
        ("trim('  x ')", "x"),
        ("split('a,b', ',')", ["a", "b"]),
        ("join(['a', 'b'], '-')", "a-b"),
        ("replace('aXa', 'X', 'Y')", "aYa"),
        ("max(1, 5, 3)", 5),
        ("min([4, 2])", 2),
        ("abs(-3)", 3),
        ("keys({a: 1})", ["a"]),
        ("first([1, 2])", 1),
        ("last([1, 2])", 2),
        ("filter([1, 2, 3, 4], {# % 2 == 0})", [2, 4]),
        ("filter([1, 2, 3], # > 1)", [2, 3]),
        ("map([1, 2], {# * 10})", [10, 20]),
        ("map([{n: 1}, {n: 2}], .n)", [1, 2]),
        ("map([{n: 1}], #.n + 1)", [2]),
        ("all([1, 2], {# > 0})", True),
        ("any([1, 2], {# > 1})", True),
        ("none([1, 2], {# > 5})", True),
        ("one([1, 2], {# > 1})", True),
        ("count([1, 2, 3], {# > 1})", 2),
        ("find([1, 2, 3], {# > 1})", 2),
        ("findIndex([1, 2, 3], {# > 5})", -1),
        ("sum([1, 2, 3], {#})", 6),
        ("toJson(filter([1, 3], {# > 1}))", "[3]"),
    ],
)
def test_builtins(source: str, expected: Any) -> None:
    assert ev(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("sprig.trim('  x  ')", "x"),
        ("sprig.upper('x')", "X"),
        ("sprig.lower('X')", "x"),
        ("sprig.title('hello world')", "Hello World"),
        ("sprig.replace('a', 'b', 'aaa')", "bbb"),
        ("sprig.split('-', 'a-b')", {"_0": "a", "_1": "b"}),
        ("sprig.splitList('-', 'a-b')", ["a", "b"]),
        ("sprig.join(',', [1, 'a'])", "1,a"),
        ("sprig.toString(5)", "5"),
        ("sprig.int('12')", 12),
        ("sprig.int('nope')", 0),
        ("sprig.atoi('7')", 7),
        ("sprig.float64('1.5')", 1.5),
        ("sprig.add(1, '2', 3)", 6),
        ("sprig.add1(1)", 2),
        ("sprig.sub(5, 2)", 3),
        ("sprig.mul(2, 3, 4)", 24),
        ("sprig.div(7, 2)", 3),
        ("sprig.mod(7, 2)", 1),
        ("sprig.max(1, 9, 3)", 9),
        ("sprig.min(4, 2, 8)", 2),
        ("sprig.default('d', '')", "d"),
        ("sprig.default('d', 'v')", "v"),
        ("sprig.empty('')", True),
        ("sprig.empty([1])", False),
        ("sprig.contains('b', 'abc')", True),
        ("sprig.hasPrefix('a', 'abc')", True),
        ("sprig.hasSuffix('c', 'abc')", True),
        ("sprig.first([3, 4])", 3),
        ("sprig.last([3, 4])", 4),
        ("sprig.trimPrefix('a', 'abc')", "bc"),
        ("sprig.trimSuffix('c', 'abc')", "ab"),
        ("sprig.trunc(2, 'abc')", "ab"),
        ("sprig.repeat(3, 'x')", "xxx"),
        ("sprig.quote('a')", '"a"'),
        ("sprig.b64enc('hi')", "aGk="),
        ("sprig.b64dec('aGk=')", "hi"),
        ("sprig.regexMatch('^a+$', 'aaa')", True),
        ("sprig.regexReplaceAll('a(x*)b', '-ab-axxb-', '${1}W')", "-W-xxW-"),
        ("sprig.date('2006-01-02', '2026-03-04T05:06:07Z')", "2026-03-04"),
        ("sprig.ternary('y', 'n', 1 > 0)", "y"),
        ("sprig.coalesce('', 'b')", "b"),
        ("sprig.uniq([1, 1, 2])", [1, 2]),
    ],
)
def test_sprig(source: str, expected: Any) -> None:
    assert ev(source) == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [("s", "s"), (3, "3"), (2.0, "2"), (2.5, "2.5"), (True, "true"), ([1, "a"], '[1,"a"]')],
)
def test_render_like_argo(value: Any, text: str) -> None:
    assert render(value) == text


@pytest.mark.parametrize(
    ("source", "column", "reason"),
    [
        ("1 +", 4, "expected a value, found the end"),
        ("(1 + 2", 7, "expected ')', found the end"),
        ("1 2", 3, "expected an operator or the end of the expression, found '2'"),
        ("'abc", 1, "unterminated string"),
        ("1 @ 2", 3, "unexpected character '@'"),
        ("a ? b", 6, "expected ':', found the end"),
        ("f(1,", 5, "expected a value, found the end"),
        ("", 1, "empty expression"),
        ("# > 1", 1, "expected a value, found '#'"),
    ],
)
def test_syntax_errors_name_the_column(source: str, column: int, reason: str) -> None:
    with pytest.raises(ExprSyntaxError) as caught:
        parse(source)
    assert caught.value.column == column
    assert caught.value.reason == reason
    assert f"at column {column} of expression '{source}'" in str(caught.value)
    assert isinstance(caught.value, ExpressionError)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("'a' + 1", "invalid operation: string + int (column 5)"),
        ("1 / 0", "division by zero"),
        ("1 % 0", "integer divide by zero"),
        ("1.5 % 2", "invalid operation: float % int"),
        ("'a' < 1", "invalid operation: string < int"),
        ("1 and true", "'and' needs bool operands, not int"),
        ("not 1", "'not' needs bool operands, not int"),
        ("nope + 1", "unknown name nope (column 1)"),
        ("[1][5]", "index out of range: 5 (length 1)"),
        ("asInt('x1')", 'strconv.Atoi: parsing "x1": invalid syntax'),
        ("nope(1)", "unknown name nope"),
        ("{a: 1}.a(2)", "int is not a function"),
        ("'a' matches '('", "invalid regular expression"),
        ("jsonpath('{}', '$.x')", "jsonpath: key 'x' not found"),
        ("1 ? 2 : 3", "the condition of ?: must be a bool"),
        ("filter([1], {# + 1})", "the predicate of filter must return a bool, not int"),
        ("inputs.parameters.foo.bar", "cannot index string with string"),
        ("{a: nil}.a.b", "cannot fetch b from nil"),
    ],
)
def test_runtime_errors_are_expression_errors(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        ev(source)
    assert message in str(caught.value)
    assert f"cannot evaluate expression '{source}'" in str(caught.value)


def test_nested_env_prefers_longer_names() -> None:
    env = nested_env({"a": "json", "a.b": "1", "a.c.d": "2", "x": "y"})
    assert env == {"a": {"b": "1", "c": {"d": "2"}}, "x": "y"}


def test_unknown_names_are_dotted_paths() -> None:
    tree = parse("asInt(inputs.parameters.foo) + asInt(steps.zz.outputs.result) + len(item)")
    assert unknown_names(tree, ENV) == ["steps.zz.outputs.result"]
    assert unknown_names(parse("missing.x ?? 1"), ENV) == ["missing"]
    assert unknown_names(parse("map([1], # + 1)"), ENV) == []


def test_render_tag_leaves_or_raises() -> None:
    never = lambda name: False  # noqa: E731
    assert render_tag(" asInt(inputs.parameters.foo) + 1 ", lambda: ENV, never) == "4"
    assert render_tag("steps.later.outputs.result", lambda: ENV, never) is None
    with pytest.raises(ExpressionError, match=r"reads steps\.later\.outputs\.result"):
        render_tag("steps.later.outputs.result", lambda: ENV, lambda name: True)
    with pytest.raises(ExpressionError, match="evaluated to nil"):
        render_tag("{a: 1}.b", lambda: ENV, never)
    assert render_tag("inputs.parameters['nope']", lambda: ENV, never) is None
    # a value still holding an unresolved tag leaves the expression for a later pass
    assert render_tag("asInt(x)", lambda: {"x": "{{steps.a.outputs.result}}"}, never) is None


def test_substitute_expands_expression_tags() -> None:
    values = {"inputs.parameters.n": "4", "workflow.name": "w"}
    text = "n={{= asInt(inputs.parameters.n) * 2 }} {{workflow.name}} {{=toJson([1])}}"
    assert substitute(text, values) == "n=8 w [1]"
    strict = ("steps.",)
    with pytest.raises(ExpressionError, match=r"steps\.x\.outputs\.result"):
        substitute("{{=steps.x.outputs.result}}", values, strict_prefixes=strict)
    assert substitute("{{=tasks.x.outputs.result}}", values) == "{{=tasks.x.outputs.result}}"
    assert not isinstance(ExpressionError("x"), MissingVariable)


LINTED = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: x-}
spec:
  entrypoint: main
  templates:
  - name: main
    retryStrategy: {limit: 2, expression: "asInt(lastRetry.exitCode) >"}
    container:
      image: busybox
      command: [echo, "{{= 1 + * 2 }}", "{{= sprig.upper('fine') }}"]
"""


def test_lint_reports_unparsable_expressions_with_file_line_column() -> None:
    result = check_text(LINTED, "wf.yaml", local=True)
    assert [str(p) for p in result.errors] == [
        "wf.yaml:8:31: error: invalid expression: expected a value, found the end at column "
        "28 of expression 'asInt(lastRetry.exitCode) >'",
        "wf.yaml:11:23: error: invalid {{= }} tag: expected a value, found '*' at column 5 "
        "of expression '1 + * 2'",
    ]
    fixed = LINTED.replace("exitCode) >", "exitCode) > 1").replace("1 + * 2", "1 + 2")
    assert check_text(fixed, "wf.yaml", local=True).ok


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("[3, 1] | toJSON()", "[3,1]"),
        ('\'["a","b"]\' | fromJSON() | join(\'","\')', 'a","b'),
        ("[1, 2, 3] | filter(# > 1) | len()", 2),
        ("concat(['x'], 1 > 0 ? ['y'] : [])", ["x", "y"]),
        ("get({a: 1}, 'b') ?? 'none'", "none"),
        ("get([5, 6], 1)", 6),
        ("jsonpath('[1, 2, 3]', '$[0:2]')", [1, 2]),
        ('jsonpath(\'{"e": [{"n": "a"}, {"n": "b"}]}\', \'$.e[*].n\')', ["a", "b"]),
    ],
)
def test_pipes_and_more_functions(source: str, expected: Any) -> None:
    assert ev(source) == expected


STAFF = '{"staff": [{"name": "Ann", "age": 43, "tags": ["x"]}, {"name": "Bo", "age": 42}]}'


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ('$.staff[?(@.name=="Ann")].age', [43]),
        ("$.staff[?(@.age > 42 && @.age < 44)].name", ["Ann"]),
        ("$.staff[?(@.age >= 42 || @.name == 'x')].name", ["Ann", "Bo"]),
        ("$.staff[?(!(@.name == 'Ann'))].name", ["Bo"]),
        ("$.staff[?(@.tags)].name", ["Ann"]),
        ("$.staff[?(@.tags[0] == 'x')].age", [43]),
        ("$.staff[?(@.missing > 1)]", []),
        ("$..name", ["Ann", "Bo"]),
        ('$.staff[?(@.name == "a)]")].age', []),
    ],
)
def test_jsonpath_filters_and_descent(path: str, expected: Any) -> None:
    assert jsonpath(STAFF, path) == expected


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("$.staff[?(@.age > )]", "ends too early"),
        ("$.staff[?(@.age > 1]", "is not closed"),
        ("$.staff[?(@.age ~ 1)]", "cannot read filter"),
    ],
)
def test_jsonpath_filter_errors(path: str, message: str) -> None:
    with pytest.raises(EvalFailure, match=re.escape(message)):
        jsonpath(STAFF, path)


def test_sprig_date_reads_the_creation_timestamp_map() -> None:
    # In an expression `workflow.creationTimestamp` is the map of its formats, as in Argo.
    env = {"workflow": {"creationTimestamp": {"RFC3339": "2026-03-04T05:06:07Z", "Y": "2026"}}}
    assert evaluate("sprig.date('2006', workflow.creationTimestamp)", env) == "2026"


def test_a_pipe_needs_a_call() -> None:
    with pytest.raises(ExprSyntaxError, match="expected a function call after '\\|'"):
        parse("1 | 2")
