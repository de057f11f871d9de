"""Validation against the derived Argo schema, the unknown-field check, and Argo's examples."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from jsonschema import ValidationError

from trainyard.core.errors import SpecError
from trainyard.spec.load import build_document, header_problems
from trainyard.spec.models import dump
from trainyard.spec.schema import argo_schema, kind_validator, message, schema_problems
from trainyard.spec.source import parse_text

ROOT = Path(__file__).resolve().parents[2]

DUPLICATE_KEY_EXAMPLES = {"examples/k8s-patch-json-workflow.yaml"}
"""Argo examples that fail to load: this one writes `metadata.annotations` twice, which Go's
lenient YAML reader accepts by dropping the first; trainyard refuses it (so does kubectl)."""


def wrap(template: str) -> str:
    """A workflow whose only template `main` is the YAML mapping body `template`."""
    body = "\n".join("      " + line for line in template.strip("\n").splitlines())
    return (
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  name: w\n"
        "spec:\n  entrypoint: main\n  templates:\n    - name: main\n" + body + "\n"
    )


def schema_errors(text: str) -> list[str]:
    (source,) = parse_text(text, "wf.yaml")
    return [f"{p.line}:{p.column}: {p.message}" for p in schema_problems(source)]


def load_derive_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "derive_schema", ROOT / "scripts" / "derive_schema.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_derived_schema_is_up_to_date(argo_schema_source: dict[str, Any]) -> None:
    derive = load_derive_script()
    expected = derive.dumps(derive.derive(argo_schema_source))
    committed = (ROOT / "src" / "trainyard" / "spec" / "data" / "argo-schema.json").read_text()
    assert committed == expected, "run: python scripts/derive_schema.py"


def test_derived_schema_is_compact_and_relaxed() -> None:
    schema = argo_schema()
    definitions = schema["definitions"]
    assert "io.argoproj.workflow.v1alpha1.WorkflowEventBinding" not in definitions
    assert "description" not in definitions["io.argoproj.workflow.v1alpha1.Workflow"]
    parameter = definitions["io.argoproj.workflow.v1alpha1.Parameter"]["properties"]
    assert "description" in parameter  # a property called description is not an annotation
    intstr = definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]
    assert intstr == {"type": ["string", "integer"]}


def test_a_valid_workflow_has_no_problems() -> None:
    assert schema_errors(wrap("container:\n  image: alpine\n  command: [echo]")) == []


def test_validator_is_compiled_once_per_kind() -> None:
    assert kind_validator("Workflow") is kind_validator("Workflow")
    assert kind_validator("Workflow") is not kind_validator("CronWorkflow")


def test_unknown_field_with_suggestion() -> None:
    assert schema_errors(wrap("container:\n  image: alpine\n  comand: [echo]")) == [
        "11:9: unknown field 'comand' in container (did you mean 'command'?)"
    ]


def test_unknown_field_without_close_match_and_at_top_level() -> None:
    text = wrap("container: {image: alpine}\nzzz: 1") + "extra: {}\n"
    assert schema_errors(text) == [
        "10:7: unknown field 'zzz' in templates[0]",
        "11:1: unknown field 'extra' in the document",
    ]


def test_maps_accept_any_key() -> None:
    text = wrap(
        """
metadata:
  labels: {team: vision}
  annotations: {example.com/anything: "yes"}
nodeSelector: {kubernetes.io/arch: amd64}
container:
  image: alpine
  resources:
    requests: {nvidia.com/gpu: 1, cpu: 0.5, memory: 1Gi}
    limits: {cpu: 2}
"""
    )
    assert schema_errors(text) == []


def test_int_or_string_fields_accept_integers() -> None:
    text = wrap(
        """
activeDeadlineSeconds: 60
retryStrategy:
  limit: 3
  backoff: {duration: "1", factor: 2, maxDuration: 1m}
container: {image: alpine}
"""
    )
    assert schema_errors(text) == []
    assert schema_errors(wrap("container: {image: alpine}\nretryStrategy: {limit: 1.5}")) == [
        "10:23: 'limit' must be a string or an integer, not a number (1.5); quote it to make "
        "it a string"
    ]


def test_sequences_accept_integers() -> None:
    text = wrap(
        """
steps:
  - - name: s
      template: main
      withSequence: {count: 3, start: 1}
"""
    )
    assert schema_errors(text) == []


def test_parameter_values_accept_numbers_and_booleans() -> None:
    text = wrap(
        """
inputs:
  parameters:
    - {name: a, value: 1}
    - {name: b, default: true, enum: [true, false]}
    - {name: c, value: 0.5, description: 3}
container: {image: alpine}
"""
    )
    assert schema_errors(text) == []


def test_wrong_types_are_explained() -> None:
    text = wrap("container:\n  image: alpine\n  command: echo\nparallelism: two")
    assert schema_errors(text) == [
        "11:9: 'command' must be a list, not a string ('echo')",
        "12:7: 'parallelism' must be an integer, not a string ('two')",
    ]
    assert schema_errors(wrap("container: {image: [a]}\nfailFast: 1")) == [
        "9:19: 'image' must be a string, not a list",
        "10:7: 'failFast' must be true or false, not a number (1); quote it to make it a string",
    ]


def test_empty_values_are_explained() -> None:
    assert schema_errors(wrap("container:\n  image: alpine\n  args:")) == [
        "11:9: 'args' is empty: give it a value or remove the line"
    ]


def test_missing_required_fields() -> None:
    text = wrap("inputs:\n  parameters:\n    - value: x\ncontainer: {image: alpine}")
    assert schema_errors(text) == ["11:13: missing required field 'name' in parameters[0]"]


def test_constants_and_other_keywords_are_worded() -> None:
    text = "apiVersion: v2\nkind: Workflow\nmetadata: {name: w}\nspec: {}\n"
    assert schema_errors(text) == ["1:1: 'apiVersion' must be 'argoproj.io/v1alpha1', not 'v2'"]
    error = ValidationError("3 is less than the minimum of 5", validator="minimum", path=["n"])
    assert message(error) == "'n': 3 is less than the minimum of 5"


def test_kinds_have_their_own_required_fields() -> None:
    # `schedules` is checked beside Argo v3's `schedule` (tests/spec/test_cron_checks.py).
    assert schema_errors("kind: CronWorkflow\nmetadata: {name: c}\nspec: {}\n") == [
        "3:1: missing required field 'workflowSpec' in spec",
    ]
    assert schema_errors("kind: Workflow\n") == [
        "1:1: missing required field 'metadata' in the document",
        "1:1: missing required field 'spec' in the document",
    ]


def _load_and_check(name: str, text: str) -> tuple[int, list[str]]:
    """How many documents of the four kinds `text` has, and its load and schema problems."""
    try:
        sources = parse_text(text, name)
    except SpecError as err:
        return 1, [str(p) for p in err.problems]
    count, problems = 0, []
    for source in sources:
        if header_problems(source):
            continue  # ConfigMaps, WorkflowEventBindings, ...: not ours
        count += 1
        found = schema_problems(source)
        if not found:
            try:
                build_document(source)
            except SpecError as err:
                found = err.problems
        problems.extend(str(p) for p in found)
    return count, problems


def test_argo_examples_load_and_pass_the_schema(argo_examples: dict[str, str]) -> None:
    checked, failed = 0, {}
    for name, text in sorted(argo_examples.items()):
        count, problems = _load_and_check(name, text)
        checked += count
        if problems:
            failed[name] = problems
    assert checked > 200
    unexpected = {k: v for k, v in failed.items() if k not in DUPLICATE_KEY_EXAMPLES}
    assert unexpected == {}


def _same(original: Any, dumped: Any) -> bool:
    """Equal, modulo empty lists and AnyString (a number or boolean dumped as its string)."""
    if isinstance(original, dict) and isinstance(dumped, dict):
        original = {k: v for k, v in original.items() if v != []}
        dumped = {k: v for k, v in dumped.items() if v != []}
        return original.keys() == dumped.keys() and all(
            _same(original[k], dumped[k]) for k in original
        )
    if isinstance(original, list) and isinstance(dumped, list):
        return len(original) == len(dumped) and all(map(_same, original, dumped))
    if isinstance(original, bool) and isinstance(dumped, str):
        return dumped == ("true" if original else "false")
    if isinstance(original, int | float) and isinstance(dumped, str):
        return dumped == str(original)
    return bool(original == dumped) and type(original) is type(dumped)


def test_argo_examples_round_trip_through_the_models(argo_examples: dict[str, str]) -> None:
    mismatched = []
    for name, text in sorted(argo_examples.items()):
        if name in DUPLICATE_KEY_EXAMPLES:
            continue
        for source in parse_text(text, name):
            if not header_problems(source):
                document = build_document(source).document
                if not _same(source.data, dump(document)):
                    mismatched.append(f"{name}#{source.index}")
    assert mismatched == []


def test_round_trip_keeps_camel_case_and_inline_templates(check: Callable[..., Any]) -> None:
    text = wrap(
        """
dag:
  tasks:
    - name: t
      inline:
        container: {image: alpine, workingDir: /w}
      continueOn: {failed: true}
"""
    )
    (doc,) = check(text).documents
    assert _same(doc.data, dump(doc.document))
    task = dump(doc.document)["spec"]["templates"][0]["dag"]["tasks"][0]
    assert task == {
        "name": "t",
        "inline": {"container": {"image": "alpine", "workingDir": "/w"}},
        "continueOn": {"failed": True},
    }


def test_mappings_and_booleans_in_the_wrong_place() -> None:
    assert schema_errors(wrap("container: [a]")) == [
        "9:7: 'container' must be a mapping, not a list"
    ]
    assert schema_errors(wrap("container: {image: {a: 1}, name: true}")) == [
        "9:19: 'image' must be a string, not a mapping",
        "9:34: 'name' must be a string, not true or false (true)",
    ]
