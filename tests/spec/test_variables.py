"""Tests for Argo's `{{...}}` placeholders."""

from __future__ import annotations

import pytest

from trainyard.core.errors import ExpressionError
from trainyard.spec.variables import (
    MissingVariable,
    find_tags,
    references,
    substitute,
    substitute_tree,
)

VALUES = {
    "steps.flip-coin.outputs.result": "heads",
    "inputs.parameters.lr": "0.1",
    "inputs.parameters.step": "flip-coin",
    "workflow.name": "train-x7k2p",
    "item": "",
}
STRICT = ("steps.", "tasks.", "inputs.")


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("no tags here", []),
        ("{{a}}", ["a"]),
        ("{{ a }} and {{b}}", ["a", "b"]),
        ("{{=inputs.parameters.x + 1}}", ["=inputs.parameters.x + 1"]),
        ("{{ =sprig.trim(x) }}", ["=sprig.trim(x)"]),
        ("{{a}}{{b}}{{a}}", ["a", "b", "a"]),
        ("{{\n  multi\n}}", ["multi"]),
        ("{{unclosed", []),
        ("{{{a}}}", ["{a"]),
        ("{}", []),
    ],
)
def test_find_tags(text: str, tags: list[str]) -> None:
    assert find_tags(text) == tags


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{steps.flip-coin.outputs.result}} == heads", "heads == heads"),
        ("--lr={{inputs.parameters.lr}}", "--lr=0.1"),
        ("--lr={{ inputs.parameters.lr }}", "--lr=0.1"),
        ("{{workflow.name}}/{{workflow.name}}", "train-x7k2p/train-x7k2p"),
        ("[{{item}}]", "[]"),
        ("{{workflow.unknown}} stays", "{{workflow.unknown}} stays"),
        ("{{  spaced.unknown  }}", "{{  spaced.unknown  }}"),
        ("{{=asFloat(inputs.parameters.lr) * 2}}", "0.2"),
        ("{{=inputs.parameters.missing * 2}}", "{{=inputs.parameters.missing * 2}}"),
        ("{{ unclosed", "{{ unclosed"),
        ("plain", "plain"),
        # a nested tag resolves its inner name and leaves the outer one for a later pass
        (
            "{{steps.{{inputs.parameters.step}}.outputs.result}}",
            "{{steps.flip-coin.outputs.result}}",
        ),
        # values are inserted as they are, never re-scanned for tags
        ("{{inputs.parameters.lr}}{{", "0.1{{"),
    ],
)
def test_substitute(text: str, expected: str) -> None:
    assert substitute(text, VALUES) == expected


def test_substituted_values_are_not_rescanned() -> None:
    assert substitute("{{a}}", {"a": "{{b}}", "b": "no"}) == "{{b}}"


def test_nested_tag_resolves_in_two_passes() -> None:
    once = substitute("{{steps.{{inputs.parameters.step}}.outputs.result}}", VALUES)
    assert substitute(once, VALUES) == "heads"


@pytest.mark.parametrize(
    ("text", "name", "explanation"),
    [
        (
            "{{steps.x.outputs.result}}",
            "steps.x.outputs.result",
            "no step 'x' with 'outputs.result' is in scope",
        ),
        (
            "a {{ tasks.train.outputs.parameters.acc }} b",
            "tasks.train.outputs.parameters.acc",
            "no task 'train' with 'outputs.parameters.acc' is in scope",
        ),
        (
            "{{inputs.parameters.epochs}}",
            "inputs.parameters.epochs",
            "the template declares no input parameter 'epochs'",
        ),
        (
            "{{inputs.artifacts.data}}",
            "inputs.artifacts.data",
            "the template declares no input artifact 'data'",
        ),
        ("{{inputs}}", "inputs", "nothing named 'inputs' is in scope here"),
    ],
)
def test_strict_prefixes_raise(text: str, name: str, explanation: str) -> None:
    with pytest.raises(MissingVariable) as caught:
        substitute(text, VALUES, strict_prefixes=STRICT)
    assert caught.value.name == name
    assert str(caught.value).startswith(f"unresolved variable {{{{{name}}}}}: ")
    assert explanation in str(caught.value)
    assert isinstance(caught.value, ExpressionError)


@pytest.mark.parametrize(
    "text",
    [
        "{{workflow.unknown}}",
        "{{stepsX.y}}",
        "{{=stepsX.y}}",
        "{{inputs.parameters.missing}}",
    ],
)
def test_names_outside_strict_prefixes_stay(text: str) -> None:
    assert substitute(text, VALUES, strict_prefixes=("steps.", "tasks.")) == text


def test_strict_prefix_with_or_without_dot() -> None:
    for prefix in ("steps", "steps."):
        with pytest.raises(MissingVariable):
            substitute("{{steps.a.outputs.result}}", {}, strict_prefixes=(prefix,))
        with pytest.raises(MissingVariable):
            substitute("{{steps}}", {}, strict_prefixes=(prefix,))
        assert substitute("{{stepsX}}", {}, strict_prefixes=(prefix,)) == "{{stepsX}}"


def test_strict_prefixes_allow_resolved_names() -> None:
    text = "{{steps.flip-coin.outputs.result}}"
    assert substitute(text, VALUES, strict_prefixes=STRICT) == "heads"


def test_substitute_tree_walks_values_not_keys() -> None:
    tree = {
        "name": "{{workflow.name}}",
        "{{workflow.name}}": "key stays",
        "args": ["--lr={{inputs.parameters.lr}}", 3, None, True, 1.5],
        "nested": {"deep": [{"x": "{{item}}"}]},
    }
    assert substitute_tree(tree, VALUES) == {
        "name": "train-x7k2p",
        "{{workflow.name}}": "key stays",
        "args": ["--lr=0.1", 3, None, True, 1.5],
        "nested": {"deep": [{"x": ""}]},
    }
    assert tree["name"] == "{{workflow.name}}"  # the input is not modified


def test_substitute_tree_shares_unchanged_parts() -> None:
    unchanged = {"image": "python:3.11", "env": [{"name": "A", "value": "{{unknown}}"}]}
    tree = {"container": unchanged, "args": ["{{inputs.parameters.lr}}"]}
    result = substitute_tree(tree, VALUES)
    assert result is not tree
    assert result["container"] is unchanged
    assert substitute_tree(unchanged, VALUES) is unchanged


@pytest.mark.parametrize("scalar", ["text", 1, 2.5, None, True])
def test_substitute_tree_on_scalars(scalar: object) -> None:
    assert substitute_tree(scalar, VALUES) is scalar


def test_substitute_tree_strict() -> None:
    with pytest.raises(MissingVariable) as caught:
        substitute_tree({"a": ["{{tasks.missing.outputs.result}}"]}, VALUES, strict_prefixes=STRICT)
    assert caught.value.name == "tasks.missing.outputs.result"


def test_references() -> None:
    tree = {
        "{{key.tag}}": "{{ a.b }} and {{c}}",
        "list": ["{{c}}", 1, {"x": "{{=expr + 1}}"}],
        "nested": "{{steps.{{inputs.parameters.step}}.outputs.result}}",
    }
    assert references(tree) == {"a.b", "c", "inputs.parameters.step"}
    assert references("plain") == set()
    assert references(42) == set()


def test_strict_prefixes_leave_artifact_references_for_from() -> None:
    # Argo's simpleReplaceStrict: `from:` resolves artifact references after substitution.
    text = "{{steps.gen.outputs.artifacts.model}}"
    assert substitute(text, {}, strict_prefixes=STRICT) == text
