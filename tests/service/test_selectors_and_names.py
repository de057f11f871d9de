"""Label selectors and Kubernetes names: parsing, matching, and the messages for bad ones."""

from __future__ import annotations

import pytest

from trainyard.core.errors import UserError
from trainyard.core.names import (
    generate_name_problem,
    label_key_problem,
    label_value_problem,
    name_problem,
    namespace_problem,
)
from trainyard.core.selectors import Requirement, matches, parse_selector


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ()),
        ("a=b", (Requirement("a", "=", ("b",)),)),
        ("a==b", (Requirement("a", "=", ("b",)),)),
        ("a = b , c != d", (Requirement("a", "=", ("b",)), Requirement("c", "!=", ("d",)))),
        ("e in (x, y)", (Requirement("e", "in", ("x", "y")),)),
        ("e notin (x)", (Requirement("e", "notin", ("x",)),)),
        ("f,!g", (Requirement("f", "exists"), Requirement("g", "!exists"))),
        ("a=", (Requirement("a", "=", ("",)),)),
        ("example.com/x-y_z=v.1", (Requirement("example.com/x-y_z", "=", ("v.1",)),)),
    ],
)
def test_selectors_parse(text: str, expected: tuple[Requirement, ...]) -> None:
    assert parse_selector(text) == expected


@pytest.mark.parametrize(
    "text", ["a b", "a in b", "a in (b", "=b", "a=b,", "a=(b)", "-a=b", "a=b c", "!", "a>1"]
)
def test_malformed_selectors_say_what_is_wrong(text: str) -> None:
    with pytest.raises(UserError, match="label selector"):
        parse_selector(text)


def test_selectors_match_labels() -> None:
    labels = {"team": "a", "tier": "gpu"}
    assert matches(parse_selector("team=a,tier"), labels)
    assert matches(parse_selector("team in (a,b),!owner"), labels)
    assert not matches(parse_selector("team!=a"), labels)
    assert matches(parse_selector("owner!=x"), labels), "a missing label is not equal to x"
    assert matches(parse_selector("owner notin (x)"), None)
    assert not matches(parse_selector("owner in (x)"), None)


def test_names() -> None:
    assert name_problem("a.b-c") is None
    assert "RFC 1123" in (name_problem("A") or "")
    assert "longer than 253" in (name_problem("a" * 254) or "")
    assert namespace_problem("team-a") is None
    assert namespace_problem("a.b") is not None and namespace_problem("a" * 64) is not None
    assert generate_name_problem("run-") is None and generate_name_problem("-x") is not None
    assert label_key_problem("app.kubernetes.io/name") is None
    assert label_key_problem("/x") is not None and label_key_problem("a/b/c") is not None
    assert label_value_problem("") is None and label_value_problem("a b") is not None
