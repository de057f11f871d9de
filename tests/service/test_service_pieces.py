"""Pure pieces of the services: `fields`, phase labels, the cached checker, stamping."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from trainyard.core.errors import SpecError, UserError
from trainyard.core.selectors import parse_selector
from trainyard.service.fields import project
from trainyard.service.stamping import creator_value, stamp
from trainyard.service.validation import DocumentChecker
from trainyard.service.workflows import phase_filter

LIST = {
    "metadata": {"continue": "t"},
    "items": [
        {"metadata": {"name": "a", "uid": "1"}, "status": {"phase": "Running", "nodes": {}}},
        {"metadata": {"name": "b", "uid": "2"}, "status": {"phase": "Failed"}},
    ],
}


def test_fields_keep_paths_through_lists() -> None:
    kept = project(LIST, "items.metadata.name,items.status.phase")
    assert kept == {
        "items": [
            {"metadata": {"name": "a"}, "status": {"phase": "Running"}},
            {"metadata": {"name": "b"}, "status": {"phase": "Failed"}},
        ]
    }
    assert project(LIST, "metadata,items.metadata.uid")["metadata"] == {"continue": "t"}
    assert project(LIST, "items.metadata,items.metadata.name")["items"][0]["metadata"] == {
        "name": "a",
        "uid": "1",
    }
    assert project(LIST, None) is LIST and project(LIST, " ") is LIST


def test_fields_with_a_minus_drop_paths() -> None:
    dropped = project(LIST, "-items.status.nodes,metadata")
    assert "metadata" not in dropped
    assert dropped["items"][0] == {
        "metadata": {"name": "a", "uid": "1"},
        "status": {"phase": "Running"},
    }
    assert LIST["items"][0]["status"]["nodes"] == {}, "the original is untouched"


@pytest.mark.parametrize(
    ("selector", "phases", "rest"),
    [
        ("workflows.argoproj.io/completed=true", ["Error", "Failed", "Succeeded"], 0),
        ("workflows.argoproj.io/completed!=true", ["", "Pending", "Running"], 0),
        ("workflows.argoproj.io/phase in (Running,Failed),team=a", ["Failed", "Running"], 1),
        ("!workflows.argoproj.io/phase", [""], 0),
        ("team=a", None, 1),
    ],
)
def test_phase_labels_become_phase_filters(
    selector: str, phases: list[str] | None, rest: int
) -> None:
    remaining, found = phase_filter(parse_selector(selector))
    assert found == phases and len(remaining) == rest


def doc(name: str = "w", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": name},
        "spec": {
            "entrypoint": "main",
            "templates": [{"name": "main", "container": {"image": "x", "command": ["true"]}}],
            **spec,
        },
    }


def test_the_checker_remembers_specs_that_passed_but_checks_metadata_again() -> None:
    checker = DocumentChecker(size=2)
    first = checker.check(
        "Workflow", doc("one", arguments={"parameters": [{"name": "n", "value": 5}]})
    )
    assert first["spec"]["arguments"]["parameters"][0]["value"] == "5", "normalized as Argo does"
    second = checker.check(
        "Workflow", doc("two", arguments={"parameters": [{"name": "n", "value": 5}]})
    )
    assert second["metadata"]["name"] == "two"
    assert second["spec"] is first["spec"], "the remembered normalized spec"
    bad_meta = doc("three", arguments={"parameters": [{"name": "n", "value": 5}]})
    bad_meta["metadata"]["labels"] = {"a": 1}
    with pytest.raises(SpecError, match="'a' must be a string"):
        checker.check("Workflow", bad_meta)
    with pytest.raises(SpecError, match="template 'nope' not found"):
        checker.check("Workflow", doc(entrypoint="nope"))
    with pytest.raises(UserError, match="not a 'CronWorkflow'"):
        checker.check("Workflow", {**doc(), "kind": "CronWorkflow"})
    with pytest.raises(UserError, match="expected a Workflow object"):
        checker.check("Workflow", ["x"])


def test_stamp_sets_namespace_creator_and_drops_server_fields() -> None:
    original = doc()
    original["metadata"].update(uid="u", resourceVersion="9", labels={"a": "b"})
    original["status"] = {"phase": "Succeeded"}
    before = copy.deepcopy(original)
    stamped = stamp(original, "team", creator="me@example.com")
    assert original == before
    assert stamped["metadata"] == {
        "name": "w",
        "namespace": "team",
        "labels": {"a": "b", "workflows.argoproj.io/creator": "me-example.com"},
    }
    assert "status" not in stamped
    assert creator_value("ann") == "ann"
    with pytest.raises(UserError, match="does not match"):
        stamp({**doc(), "metadata": {"name": "w", "namespace": "x"}}, "team")
    with pytest.raises(UserError, match="generateName"):
        stamp({**doc(), "metadata": {}}, "team")
    with pytest.raises(UserError, match="label value"):
        stamp(doc(), "team", labels={"a": "b c"})
    assert (
        "namespace"
        not in stamp({**doc(), "metadata": {"name": "c", "namespace": "x"}}, None)["metadata"]
    )
