"""Loading YAML and JSON into documents that know where each element was written."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from trainyard.core.errors import NotFoundError, Problem, SpecError, UserError
from trainyard.spec import source as source_module
from trainyard.spec.load import LoadedDocument, data_path, describe, load_file, load_text
from trainyard.spec.models import CronWorkflow, Workflow, WorkflowTemplate
from trainyard.spec.source import SourceDocument

HELLO = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: hello-
spec:
  entrypoint: main
  templates:
    - name: main
      container:
        image: alpine
        command: [echo, hi]
"""


def load(text: str, file: str = "wf.yaml") -> list[LoadedDocument]:
    return load_text(textwrap.dedent(text).lstrip("\n"), file)


def problems_of(text: str, file: str = "wf.yaml") -> list[str]:
    with pytest.raises(SpecError) as caught:
        load(text, file)
    return [f"{p.line}:{p.column}: {p.message}" for p in caught.value.problems]


def test_loads_a_workflow_with_data_model_and_positions() -> None:
    (doc,) = load_text(HELLO, "hello.yaml")
    assert isinstance(doc.document, Workflow)
    assert doc.file == "hello.yaml"
    assert doc.index == 0
    assert doc.kind == "Workflow"
    assert doc.data["spec"]["templates"][0]["container"]["command"] == ["echo", "hi"]
    assert doc.document.spec.templates[0].name == "main"
    assert doc.position(()) == (1, 1)
    assert doc.position(("spec",)) == (5, 1)
    assert doc.position(("spec", "templates", 0)) == (8, 7)
    assert doc.position(("spec", "templates", 0, "container", "command", 1)) == (11, 25)
    assert doc.at(("spec", "templates", 0, "name")) == "main"


def test_position_falls_back_to_the_deepest_known_element() -> None:
    (doc,) = load_text(HELLO)
    assert doc.position(("spec", "templates", 0, "container", "args", 3)) == (9, 7)
    assert doc.position(("nowhere",)) == (1, 1)


def test_problem_is_located_at_the_element() -> None:
    (doc,) = load_text(HELLO, "hello.yaml")
    problem = doc.problem("bad image", ("spec", "templates", 0, "container", "image"))
    assert problem == Problem("bad image", "hello.yaml", 10, 9, "error")
    assert str(problem) == "hello.yaml:10:9: error: bad image"


def test_several_documents_skip_empty_ones_and_keep_their_index() -> None:
    text = (
        "---\n"
        + HELLO
        + "---\n# only a comment\n---\n"
        + HELLO.replace("kind: Workflow", "kind: WorkflowTemplate")
    )
    first, second = load_text(text)
    assert (first.index, second.index) == (0, 2)
    assert isinstance(second.document, WorkflowTemplate)
    assert second.position(("kind",)) == (17, 1)


def test_an_empty_file_has_no_documents() -> None:
    assert load_text("") == []
    assert load_text("# nothing\n---\n") == []


def test_timestamps_stay_strings_and_merge_keys_are_resolved() -> None:
    (doc,) = load(
        """
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata:
          name: w
          creationTimestamp: 2024-01-02T03:04:05Z
        spec:
          entrypoint: a
          templates:
            - &base
              name: a
              container: {image: alpine}
            - <<: *base
              name: b
        """
    )
    assert doc.data["metadata"]["creationTimestamp"] == "2024-01-02T03:04:05Z"
    assert doc.data["spec"]["templates"][1] == {"name": "b", "container": {"image": "alpine"}}
    assert doc.position(("spec", "templates", 1, "name")) == (13, 7)


def test_json_with_tabs_gets_positions() -> None:
    text = '{\n\t"apiVersion": "argoproj.io/v1alpha1",\n\t"kind": "CronWorkflow",\n' + (
        '\t"metadata": {"name": "c"},\n\t"spec": {"schedules": ["* * * * *"], '
        '"workflowSpec": {"entrypoint": "a"}}\n}\n'
    )
    (doc,) = load_text(text, "cron.json")
    assert isinstance(doc.document, CronWorkflow)
    assert doc.position(("kind",)) == (3, 2)
    assert doc.position(("spec", "workflowSpec", "entrypoint")) == (5, 56)


def test_json_numbers_are_read_as_json() -> None:
    (doc,) = load_text('{"kind": "Workflow", "spec": {"priority": 1e3}}', "w.json")
    assert doc.data["spec"]["priority"] == 1000.0


def test_invalid_json_names_line_and_column() -> None:
    assert problems_of('{\n  "kind": "Workflow",\n}\n', "w.json") == [
        "3:1: invalid JSON: Expecting property name enclosed in double quotes"
    ]


def test_yaml_tab_indentation_is_explained() -> None:
    assert problems_of("kind: Workflow\nspec:\n\tentrypoint: a\n") == [
        "3:1: invalid YAML (while scanning for the next token found character '\\t' that "
        "cannot start any token): YAML does not allow tabs for indentation: indent with spaces"
    ]


def test_yaml_colon_in_value_is_explained() -> None:
    assert problems_of("kind: Workflow\nspec:\n  entrypoint: a: b\n") == [
        "3:16: invalid YAML (mapping values are not allowed here): a ':' appears where a value "
        "was expected: quote a value that contains ': ', or check this line's indentation"
    ]


def test_yaml_unclosed_quote_is_explained() -> None:
    (message,) = problems_of('kind: Workflow\nmetadata:\n  name: "w\n')
    assert message.startswith("4:1: invalid YAML (while scanning a quoted scalar")
    assert message.endswith("a quoted string is not closed: add the closing quote")


def test_yaml_bad_indentation_is_explained() -> None:
    (message,) = problems_of("kind: Workflow\nspec:\n    entrypoint: a\n  templates: []\n")
    assert message.startswith("4:3: invalid YAML (")
    assert message.endswith(
        "check the indentation: this line must line up with the keys or '- ' items around it"
    )


def test_yaml_undefined_alias_is_explained() -> None:
    (message,) = problems_of("kind: Workflow\nspec: *nothing\n")
    assert message.startswith("2:7: invalid YAML (")
    assert message.endswith("this *alias names no &anchor defined above it")


def test_duplicate_keys_are_errors() -> None:
    assert problems_of("kind: Workflow\nspec: {}\nspec: {}\n") == [
        "3:1: key 'spec' appears twice in this mapping (first on line 2); remove one"
    ]


def test_complex_keys_are_errors() -> None:
    assert problems_of("kind: Workflow\n? [a, b]\n: c\n") == [
        "2:3: a mapping key must be a plain string"
    ]


def test_a_document_must_be_a_mapping() -> None:
    assert problems_of("- kind: Workflow\n") == [
        "1:1: a document must be a mapping with apiVersion, kind, metadata and spec; found a list"
    ]
    assert problems_of("just text\n") == [
        "1:1: a document must be a mapping with apiVersion, kind, metadata and spec; "
        "found the value 'just text'"
    ]


def test_kind_is_required() -> None:
    assert problems_of("apiVersion: argoproj.io/v1alpha1\nspec: {}\n") == [
        "1:1: the document has no 'kind': add one of Workflow, WorkflowTemplate, "
        "ClusterWorkflowTemplate, CronWorkflow"
    ]


def test_unknown_kind_is_named_with_a_suggestion() -> None:
    assert problems_of("apiVersion: argoproj.io/v1alpha1\nkind: Workflo\n") == [
        "2:1: kind 'Workflo' is not one of Workflow, WorkflowTemplate, ClusterWorkflowTemplate, "
        "CronWorkflow (did you mean 'Workflow'?)"
    ]
    assert problems_of("kind: ConfigMap\n") == [
        "1:1: kind 'ConfigMap' is not one of Workflow, WorkflowTemplate, "
        "ClusterWorkflowTemplate, CronWorkflow"
    ]


def test_unknown_api_version() -> None:
    assert problems_of("apiVersion: argoproj.io/v1\nkind: Workflow\n") == [
        "1:1: apiVersion 'argoproj.io/v1' is not supported: write "
        "'apiVersion: argoproj.io/v1alpha1'"
    ]


def test_problems_of_all_documents_are_reported_together() -> None:
    text = "kind: Nope\n---\nkind: Workflow\n---\nkind: Either\n"
    assert [p.split(":")[0] for p in problems_of(text)] == ["1", "5"]


def test_model_errors_become_located_problems() -> None:
    assert problems_of(
        """
        kind: Workflow
        spec:
          templates:
            - name: a
              parallelism: lots
        """
    ) == [
        "5:7: spec.templates[0].parallelism: Input should be a valid integer, "
        "unable to parse string as an integer"
    ]


def test_data_path_skips_parts_that_are_not_in_the_data() -> None:
    data = {"spec": {"limit": [1, {"x": 2}]}}
    assert data_path(data, ("spec", "limit", 1, "x", "int")) == ("spec", "limit", 1, "x")
    assert data_path(data, ("spec", "limit", 7)) == ("spec", "limit")
    assert describe(("spec", "templates", 0, "container")) == "spec.templates[0].container"
    assert describe(()) == "the document"


def test_load_file_reads_yaml_and_json(tmp_path: Path) -> None:
    (tmp_path / "hello.yaml").write_text(HELLO)
    (doc,) = load_file(tmp_path / "hello.yaml")
    assert doc.file == str(tmp_path / "hello.yaml")
    (tmp_path / "w.json").write_text('{"kind": "Workflow", "metadata": {"name": "w"}}')
    (doc,) = load_file(str(tmp_path / "w.json"))
    assert doc.document.metadata.name == "w"


def test_load_file_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"nope\.yaml: no such file; check the path"):
        load_file(tmp_path / "nope.yaml")


def test_load_file_refuses_a_directory_and_binary_data(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"is a directory; name a \.yaml or \.json file"):
        load_file(tmp_path)
    (tmp_path / "bin.yaml").write_bytes(b"kind: \xff\xfe\n")
    with pytest.raises(UserError, match=r"bin\.yaml: not UTF-8 text \(byte 6\)"):
        load_file(tmp_path / "bin.yaml")


def test_load_file_reports_unreadable_files(tmp_path: Path) -> None:
    target = tmp_path / "loop.yaml"
    target.symlink_to(target)  # reading a symlink loop fails with an OSError
    with pytest.raises(UserError, match=r"loop\.yaml: cannot read it"):
        load_file(target)


def test_control_characters_are_located() -> None:
    assert problems_of("kind: Workflow\nmetadata:\n  name: a\x07b\n") == [
        "3:10: character #x0007 is not allowed in YAML: remove it"
    ]


def test_yaml_flow_mappings_are_not_mistaken_for_json() -> None:
    (doc,) = load("{kind: Workflow, metadata: {name: w}}\n")
    assert doc.document.metadata.name == "w"
    assert doc.position(("metadata", "name")) == (1, 29)


def test_a_json_document_must_be_an_object() -> None:
    assert problems_of("[1, 2]", "w.json") == [
        "1:1: a document must be a mapping with apiVersion, kind, metadata and spec; found a list"
    ]


def test_json_that_yaml_cannot_read_loads_without_positions() -> None:
    long_key = "k" * 1100  # YAML caps implicit keys at 1024 characters; JSON does not
    (doc,) = load_text(json.dumps({"kind": "Workflow", "metadata": {"labels": {long_key: "x"}}}))
    assert doc.data["metadata"]["labels"][long_key] == "x"
    assert doc.position(("metadata",)) == (1, 1)


def test_json_duplicate_keys_are_errors_too() -> None:
    assert problems_of('{"kind": "Workflow",\n "kind": "Workflow"}', "w.json") == [
        "2:2: key 'kind' appears twice in this mapping (first on line 1); remove one"
    ]


def test_position_without_marks_is_the_first_line() -> None:
    source = SourceDocument({"kind": "Workflow"}, "x.yaml", 0, {})
    assert source.position(("kind",)) == (1, 1)


def test_alias_bombs_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source_module, "_MAX_NODES", 1000)
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    bomb += "c: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    assert problems_of(bomb) == ["1:35: the document is too large (too many aliases?)"]
