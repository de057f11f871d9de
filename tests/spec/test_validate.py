"""Semantic checks after the schema: templates, calls, DAGs, parameters, references and notes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from trainyard.core.errors import NotFoundError, SpecError
from trainyard.spec import check as check_module
from trainyard.spec.check import CheckResult, check_file, check_text
from trainyard.spec.dag import find_cycles
from trainyard.spec.load import LoadedDocument
from trainyard.spec.source import SourceDocument
from trainyard.spec.validate import lint_notes, local_engine_problems, validate

Errors = Callable[..., list[str]]
Check = Callable[..., CheckResult]

HEAD = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w}\n"


# --- entrypoint and templates --------------------------------------------------------------------


def test_a_valid_workflow_has_no_errors(errors: Errors) -> None:
    assert errors(HEAD + "spec:\n  entrypoint: a\n  templates:\n  - {name: a, suspend: {}}\n") == []


def test_entrypoint_is_required(errors: Errors) -> None:
    text = HEAD + "spec:\n  templates:\n  - {name: a, suspend: {}}\n  - {name: b, suspend: {}}\n"
    assert errors(text) == [
        "4:1: spec.entrypoint is missing: name the template to start with (one of a, b)"
    ]


def test_entrypoint_must_name_a_template(errors: Errors) -> None:
    text = HEAD + "spec:\n  entrypoint: mian\n  templates:\n  - {name: main, suspend: {}}\n"
    assert errors(text) == [
        "5:3: template 'mian' not found; known templates: main (did you mean 'main'?)"
    ]


def test_cron_workflow_entrypoint_is_checked(errors: Errors) -> None:
    text = """
        apiVersion: argoproj.io/v1alpha1
        kind: CronWorkflow
        metadata: {name: c}
        spec:
          schedules: ["0 * * * *"]
          workflowSpec:
            templates:
            - {name: a, suspend: {}}
        """
    assert errors(text) == [
        "6:3: spec.workflowSpec.entrypoint is missing: name the template to start with (one of a)"
    ]


def test_template_libraries_and_template_refs_need_no_entrypoint(errors: Errors) -> None:
    library = HEAD.replace("kind: Workflow", "kind: WorkflowTemplate")
    assert errors(library + "spec:\n  templates:\n  - {name: a, suspend: {}}\n") == []
    assert errors(HEAD + "spec:\n  workflowTemplateRef: {name: lib}\n") == []


def test_template_names_must_be_given_and_unique(errors: Errors) -> None:
    text = HEAD + (
        "spec:\n  entrypoint: a\n  templates:\n"
        "  - {name: a, suspend: {}}\n  - {suspend: {}}\n  - name: a\n    suspend: {}\n"
    )
    assert errors(text) == [
        "8:5: template has no name: add 'name: ...'",
        "9:5: template name 'a' is used twice (first on line 7): rename one",
    ]


def test_a_template_has_exactly_one_body(errors: Errors) -> None:
    text = HEAD + (
        "spec:\n  entrypoint: a\n  templates:\n  - name: a\n    inputs: {}\n"
        "  - name: b\n    container: {image: x}\n    script: {image: x, source: y}\n"
    )
    assert errors(text) == [
        "7:5: template 'a' has nothing to run: give it one of container, script, steps, dag, "
        "suspend, resource, data, http, containerSet",
        "11:5: template 'b' has container and script: keep only one",
    ]


# --- steps and calls -----------------------------------------------------------------------------

STEPS = (
    HEAD
    + """\
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: hello
        template: whalesay
      - name: hello
        template: print
        arguments:
          parameters:
          - {name: mesage, value: hi}
  - name: print
    inputs:
      parameters:
      - name: message
      - {name: color, default: red, enum: [red, blue]}
    container: {image: alpine, args: ["{{inputs.parameters.message}}"]}
"""
)


def test_steps_calls_are_checked(errors: Errors, check: Check) -> None:
    assert errors(STEPS) == [
        "10:9: template 'whalesay' not found; known templates: main, print",
        "11:9: step name 'hello' is used twice in template 'main' (first on line 9): rename one",
        "11:9: step 'hello' does not pass input parameter 'message' that template 'print' "
        "requires: add it to arguments.parameters",
    ]
    # Argo ignores an argument the template does not declare: a note, with the likely fix.
    notes = [f"{p.line}:{p.column}: {p.message}" for p in check(STEPS).notes]
    assert (
        "15:13: template 'print' has no input parameter 'mesage', so the argument is ignored; "
        "its input parameters: color, message (did you mean 'message'?)"
    ) in notes


def test_enum_of_literal_arguments(errors: Errors) -> None:
    text = HEAD + (
        "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    steps:\n"
        "    - - name: s\n        template: print\n        arguments:\n          parameters:\n"
        "          - {name: color, value: green}\n"
        "          - {name: size, value: '{{workflow.name}}'}\n"
        "  - name: print\n    inputs:\n      parameters:\n"
        "      - {name: color, enum: [red, blue]}\n      - {name: size, enum: [s, m]}\n"
        "    suspend: {}\n"
    )
    assert errors(text) == [
        "13:27: value 'green' of parameter 'color' is not one of red, blue (the values "
        "template 'print' allows)"
    ]


def test_input_defaults_must_be_in_their_enum(errors: Errors) -> None:
    text = HEAD + (
        "spec:\n  entrypoint: a\n  templates:\n  - name: a\n    inputs:\n      parameters:\n"
        "      - {name: p, default: x, enum: [a, b]}\n    suspend: {}\n"
    )
    assert errors(text) == [
        "10:19: value 'x' of parameter 'p' is not one of a, b (the values input parameter "
        "'p' allows)"
    ]


def test_steps_need_a_name_and_a_template(errors: Errors) -> None:
    text = HEAD + (
        "spec:\n  entrypoint: a\n  templates:\n  - name: a\n    steps:\n"
        "    - - template: a\n      - name: b\n"
    )
    assert errors(text) == [
        "9:9: step has no name: add 'name: ...'",
        "10:9: step 'b' names no template: add 'template:' or 'templateRef:'",
    ]


def test_exit_handlers_and_hooks_name_templates(errors: Errors) -> None:
    text = (
        HEAD
        + """\
spec:
  entrypoint: a
  onExit: cleanup
  hooks:
    running: {expression: "true", template: notify}
  templates:
  - name: a
    steps:
    - - name: s
        template: b
        onExit: byebye
        hooks:
          exit: {template: b, arguments: {parameters: [{name: x, value: "1"}]}}
  - {name: b, suspend: {}}
"""
    )
    assert errors(text) == [
        "6:3: template 'cleanup' not found; known templates: a, b",
        "8:35: template 'notify' not found; known templates: a, b",
        "14:9: template 'byebye' not found; known templates: a, b",
    ]


def test_template_refs_are_left_to_run_time(errors: Errors, check: Check) -> None:
    text = HEAD + (
        "spec:\n  entrypoint: a\n  templates:\n  - name: a\n    steps:\n"
        "    - - name: s\n        templateRef: {name: lib, template: t}\n"
    )
    assert errors(text) == []
    assert [str(n) for n in check(text).notes] == [
        "wf.yaml:10:9: note: templateRef 'lib/t' of step 's' is not checked here: it is "
        "resolved from the stored template when the workflow runs"
    ]


def test_step_exit_handlers_cannot_pass_inputs_and_refs_still_check_when(errors: Errors) -> None:
    text = HEAD + (
        "spec:\n  entrypoint: a\n  templates:\n  - name: a\n    steps:\n"
        "    - - {name: s, template: b, onExit: c}\n"
        "      - {name: r, templateRef: {name: lib, template: t}, when: '1 +'}\n"
        "  - {name: b, suspend: {}}\n"
        "  - {name: c, inputs: {parameters: [{name: q}]}, suspend: {}}\n"
    )
    found = errors(text)
    assert found[0] == (
        "9:32: onExit of step 's' does not pass input parameter 'q' that template 'c' requires: "
        "onExit cannot pass arguments: use 'hooks: {exit: {template, arguments}}'"
    )
    assert found[1:] == [
        "10:58: cannot parse 'when' of step 'r': when '1 +': expected a value after '+' at column 4"
    ]


def test_inline_templates_are_checked_as_templates(errors: Errors) -> None:
    text = (
        HEAD
        + """\
spec:
  entrypoint: a
  templates:
  - name: a
    steps:
    - - name: s
        arguments: {parameters: [{name: x, value: "1"}, {name: y, value: "2"}]}
        inline:
          inputs: {parameters: [{name: x}]}
          container: {image: alpine, args: ["{{inputs.parameters.x}}", "{{inputs.parameters.z}}"]}
"""
    )
    assert errors(text) == [
        "13:72: {{inputs.parameters.z}} names input parameter 'z', which the inline template "
        "does not declare; its inputs: x",
    ]


def test_when_must_parse(errors: Errors) -> None:
    text = (
        HEAD
        + """\
spec:
  entrypoint: a
  templates:
  - name: a
    steps:
    - - {name: s, template: b}
    - - name: t
        template: b
        when: "{{steps.s.outputs.result}} == heads"
      - name: u
        template: b
        when: "{{steps.s.outputs.result}} =="
  - {name: b, script: {image: alpine, source: echo}}
"""
    )
    (message,) = errors(text)
    assert message == (
        "15:9: cannot parse 'when' of step 'u': when 'x ==': expected a value after '==' "
        "at column 5"
    )


def test_artifact_arguments_must_be_inputs(errors: Errors) -> None:
    text = HEAD + (
        "spec:\n  entrypoint: a\n  templates:\n  - name: a\n    steps:\n"
        "    - - name: s\n        template: b\n"
        "        arguments: {artifacts: [{name: modle, from: x}, {name: model, from: y}]}\n"
        "  - {name: b, inputs: {artifacts: [{name: model, path: /m}]}, suspend: {}}\n"
    )
    assert errors(text) == [
        "11:33: template 'b' has no input artifact 'modle'; its input artifacts: model "
        "(did you mean 'model'?)"
    ]


# --- workflow parameters -------------------------------------------------------------------------

PARAMS = (
    HEAD
    + """\
spec:
  entrypoint: main
  arguments:
    parameters:
    - name: n
    - {name: mode, value: fast, enum: [fast, slow]}
  templates:
  - name: main
    inputs:
      parameters: [{name: n}, {name: size}]
    container: {image: alpine, args: ["{{workflow.parameters.n}}", "{{workflow.parameters.m}}"]}
"""
)


def test_workflow_parameters_need_values(errors: Errors) -> None:
    assert errors(PARAMS) == [
        "5:3: template 'main' (the entrypoint) needs input parameter 'size': add it to "
        "spec.arguments.parameters or pass -p size=VALUE",
        "8:7: workflow parameter 'n' needs a value: pass -p n=VALUE",
        "14:68: {{workflow.parameters.m}} names undeclared workflow parameter 'm'; declared: "
        "mode, n",
    ]


def test_command_line_parameters_satisfy_and_are_checked(errors: Errors) -> None:
    given = {"n": "3", "size": "big", "m": "1", "mode": "quick"}
    assert errors(PARAMS, parameters=given) == [
        "9:7: value 'quick' of parameter 'mode' is not one of fast, slow (the values the "
        "workflow parameter allows)"
    ]


def test_workflow_parameter_values_and_names(errors: Errors) -> None:
    text = HEAD + (
        "spec:\n  entrypoint: a\n  arguments:\n    parameters:\n"
        "    - {name: p, value: x, enum: [a]}\n    - {name: p, value: a}\n"
        "  templates:\n  - {name: a, suspend: {}}\n"
    )
    assert errors(text) == [
        "8:17: value 'x' of parameter 'p' is not one of a (the values the workflow parameter "
        "allows)",
        "9:7: workflow parameter 'p' is declared twice: remove one",
    ]


def test_cron_workflow_parameters_need_a_value_in_the_file(errors: Errors) -> None:
    text = """
        apiVersion: argoproj.io/v1alpha1
        kind: CronWorkflow
        metadata: {name: c}
        spec:
          schedules: ["0 * * * *"]
          workflowSpec:
            entrypoint: a
            arguments: {parameters: [{name: n}]}
            templates: [{name: a, suspend: {}}]
        """
    assert errors(text) == ["8:30: workflow parameter 'n' needs a value: give it a 'value:'"]


def test_workflow_templates_leave_values_to_their_callers(errors: Errors) -> None:
    text = PARAMS.replace("kind: Workflow", "kind: WorkflowTemplate")
    assert errors(text) == []


def test_on_exit_inputs_come_from_workflow_parameters(errors: Errors) -> None:
    text = HEAD + (
        "spec:\n  entrypoint: a\n  onExit: a\n  templates:\n"
        "  - {name: a, inputs: {parameters: [{name: q}]}, suspend: {}}\n"
    )
    assert errors(text) == [
        "5:3: template 'a' (the entrypoint) needs input parameter 'q': add it to "
        "spec.arguments.parameters or pass -p q=VALUE",
        "6:3: spec.onExit does not pass input parameter 'q' that template 'a' requires: add "
        "it to spec.arguments.parameters or pass -p q=VALUE",
    ]
    assert errors(text, parameters={"q": "1"}) == []


# --- references ----------------------------------------------------------------------------------


def test_references_to_steps_tasks_and_inputs(errors: Errors) -> None:
    text = (
        HEAD
        + """\
spec:
  entrypoint: a
  templates:
  - name: a
    steps:
    - - {name: one, template: b}
    - - name: two
        template: b
        when: "{{steps.on.outputs.result}} == x"
    outputs:
      parameters:
      - {name: r, valueFrom: {parameter: "{{tasks.one.outputs.result}}"}}
  - name: b
    script:
      image: alpine
      source: "echo {{inputs.parameters.x}} {{steps.name}} {{=inputs.parameters.y}}"
"""
    )
    assert errors(text) == [
        "12:9: {{steps.on.outputs.result}} names step 'on', which template 'a' does not "
        "have; its steps: one, two (did you mean 'one'?)",
        "15:31: {{tasks.one.outputs.result}} names task 'one', which template 'a' does not "
        "have; its tasks: none",
        "19:7: {{inputs.parameters.x}} names input parameter 'x', which template 'b' does not "
        "declare; its inputs: none",
    ]


def test_status_is_not_checked_for_references(errors: Errors) -> None:
    text = HEAD + (
        "spec:\n  entrypoint: a\n  templates:\n  - {name: a, suspend: {}}\n"
        "status:\n  message: '{{workflow.parameters.gone}}'\n"
    )
    assert errors(text) == []


# --- DAGs ----------------------------------------------------------------------------------------

DAG = (
    HEAD
    + """\
spec:
  entrypoint: d
  templates:
  - {name: t, suspend: {}}
  - name: d
    dag:
      target: A Z
      tasks:
      - {name: A, template: t, depends: "C"}
      - {name: B, template: t, depends: "A && X.Succeeded"}
      - {name: C, template: t, depends: "B"}
      - {name: B, template: t, dependencies: [A], depends: A}
      - {name: E, template: t, depends: "A &&"}
      - {name: F, template: t, depends: "F", when: "{{tasks.G.outputs.result}} == 1"}
"""
)


def test_dag_problems(errors: Errors) -> None:
    assert errors(DAG) == [
        "10:7: target 'Z' names no task of this DAG; known tasks: A, B, C, E, F",
        "12:32: cycle: A -> C -> B -> A: remove one of these dependencies",
        "13:32: task 'B' depends on unknown task 'X'; known tasks: A, B, C, E, F",
        "15:10: task name 'B' is used twice in this DAG (first on line 13): rename one",
        "15:32: task 'B' has both 'depends' and 'dependencies': keep only 'depends' (write "
        "'dependencies: [a, b]' as 'depends: a && b')",
        "16:32: cannot parse 'depends' of task 'E': depends 'A &&': expected a task name after "
        "'&&' at column 5",
        "17:32: cycle: F -> F: remove one of these dependencies",
        "17:46: {{tasks.G.outputs.result}} names task 'G', which template 'd' does not have; "
        "its tasks: A, B, C, E, F",
    ]


def test_dag_depends_and_dependencies_do_not_mix(errors: Errors) -> None:
    text = HEAD + (
        "spec:\n  entrypoint: d\n  templates:\n  - {name: t, suspend: {}}\n  - name: d\n"
        "    dag:\n      tasks:\n      - {name: A, template: t}\n"
        "      - {name: B, template: t, depends: A}\n"
        "      - {name: C, template: t, dependencies: [A, Y]}\n"
    )
    assert errors(text) == [
        "13:32: task 'C' uses 'dependencies' but task 'B' uses 'depends': Argo accepts one "
        "style per DAG; write 'dependencies: [a, b]' as 'depends: a && b'",
        "13:50: task 'C' depends on unknown task 'Y'; known tasks: A, B, C",
    ]


def test_find_cycles_reports_each_cycle_once() -> None:
    graph = {"a": ["b"], "b": ["c", "a"], "c": ["b"], "d": ["d"], "e": []}
    order = {name: i for i, name in enumerate(graph)}
    assert find_cycles(graph, order) == [["a", "b"], ["b", "c"], ["d"]]


def test_long_dependency_chains_do_not_overflow() -> None:
    graph = {f"t{i}": [f"t{i + 1}"] for i in range(5000)}
    graph["t5000"] = ["t0"]
    order = {name: i for i, name in enumerate(graph)}
    (cycle,) = find_cycles(graph, order)
    assert len(cycle) == 5001 and cycle[0] == "t0"


# --- notes and the local engine ------------------------------------------------------------------

K8S = (
    HEAD
    + """\
spec:
  entrypoint: a
  serviceAccountName: runner
  podGC: {strategy: OnPodSuccess}
  workflowTemplateRef: {name: lib}
  templateDefaults: {nodeSelector: {gpu: "yes"}}
  templates:
  - name: a
    tolerations: []
    resource: {action: create, manifest: "kind: ConfigMap"}
"""
)


def test_lint_notes_name_kubernetes_only_fields(check: Check) -> None:
    result = check(K8S)
    assert [f"{n.line}:{n.column}: {n.message}" for n in result.notes] == [
        "6:3: 'serviceAccountName' is a Kubernetes setting: recorded; has no effect on the "
        "local engine",
        "7:3: 'podGC' is a Kubernetes setting: recorded; has no effect on the local engine",
        "8:3: workflowTemplateRef 'lib' is not checked here: the stored template is read when "
        "the workflow is submitted",
        "9:22: 'nodeSelector' is a Kubernetes setting: recorded; has no effect on the local engine",
        "12:5: 'tolerations' is a Kubernetes setting: recorded; has no effect on the local engine",
    ]
    assert all(n.severity == "note" for n in result.notes)
    assert result.ok


def test_resource_templates_are_errors_for_the_local_engine(check: Check) -> None:
    result = check(K8S, local=True)
    # workflowTemplateRef (line 8) is resolved from the store before the engine runs it.
    assert [str(p) for p in result.errors] == [
        "wf.yaml:13:5: error: template 'a' is a resource template: it needs a Kubernetes "
        "cluster; submit the workflow to an Argo server",
    ]
    (doc,) = result.documents
    assert local_engine_problems(doc) == result.errors
    assert lint_notes(doc) == result.notes
    assert validate(doc) == []


# --- check_text and check_file -------------------------------------------------------------------


def test_schema_errors_stop_semantic_checks(errors: Errors) -> None:
    text = HEAD + "spec:\n  entrypoint: nope\n  templates:\n  - {name: a, suspend: {}, x: 1}\n"
    assert errors(text) == ["7:28: unknown field 'x' in templates[0]"]


def test_check_reports_every_document(check: Check) -> None:
    good = HEAD + "spec:\n  entrypoint: a\n  templates:\n  - {name: a, suspend: {}}\n"
    result = check(good + "---\nkind: Nope\n---\n" + good.replace("entrypoint: a", "entrypoint: b"))
    assert len(result.documents) == 2
    assert [f"{p.line}: {p.message[:20]}" for p in result.errors] == [
        "9: kind 'Nope' is not o",
        "15: template 'b' not fou",
    ]
    with pytest.raises(SpecError) as caught:
        result.raise_for_errors()
    assert caught.value.problems == result.errors


def test_check_reports_syntax_errors_as_a_result() -> None:
    result = check_text("a: b: c\n", "bad.yaml")
    assert not result.ok and result.documents == []
    assert str(result.errors[0]).startswith("bad.yaml:1:5: error: invalid YAML")


def test_model_errors_after_the_schema_are_reported(
    check: Check, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(source: SourceDocument) -> LoadedDocument:
        raise SpecError([source.problem("refused", ("spec",))])

    monkeypatch.setattr(check_module, "build_document", refuse)
    result = check(HEAD + "spec:\n  entrypoint: a\n  templates:\n  - {name: a, suspend: {}}\n")
    assert [str(p) for p in result.errors] == ["wf.yaml:4:1: error: refused"]
    assert result.documents == []


def test_check_file(tmp_path: Path) -> None:
    path = tmp_path / "wf.yaml"
    path.write_text(HEAD + "spec:\n  entrypoint: a\n  templates:\n  - {name: a, suspend: {}}\n")
    result = check_file(path, {"unused": "1"})
    assert result.ok and result.errors == [] and len(result.documents) == 1
    result.raise_for_errors()
    with pytest.raises(NotFoundError):
        check_file(tmp_path / "missing.yaml")


# --- Argo's examples -----------------------------------------------------------------------------


def test_argo_examples_pass_semantic_validation(argo_examples: dict[str, str]) -> None:
    failed: dict[str, list[str]] = {}
    documents = 0
    for name, text in sorted(argo_examples.items()):
        result = check_text(text, name)
        documents += len(result.documents)
        problems = [str(p) for p in result.errors if "is not one of Workflow" not in p.message]
        if problems:
            failed[name] = problems
    assert documents > 200
    expected = {"examples/k8s-patch-json-workflow.yaml"}
    assert {k: v for k, v in failed.items() if k not in expected} == {}


def test_local_engine_needs_a_command() -> None:
    from trainyard.spec.check import check_text

    text = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: x-}
spec:
  entrypoint: main
  templates:
  - name: main
    container:
      image: docker/whalesay
      args: [hello]
"""
    local = check_text(text, "wf.yaml", local=True)
    assert [str(p) for p in local.errors] == [
        "wf.yaml:8:5: error: template 'main' has no command: the local engine runs host "
        "processes and cannot use the entrypoint of image 'docker/whalesay'; add `command:` "
        "(e.g. command: [python3])"
    ]
    assert check_text(text, "wf.yaml").ok


UNSUPPORTED = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: x-}
spec:
  entrypoint: main
  templates:
  - name: main
    retryStrategy: {limit: 2, expression: "lastRetry.exitCode > 1"}
    container:
      image: busybox
      command: [echo, "{{= inputs.parameters.x }}"]
  - name: saver
    outputs:
      artifacts: [{name: m, path: /m, gcs: {bucket: b, key: m.tgz}}]
    container: {image: busybox, command: ["true"]}
"""


def test_features_the_local_engine_lacks_are_refused_up_front(check: Check) -> None:
    result = check(UNSUPPORTED, local=True)
    # retryStrategy.expression and {{= }} tags run locally; the gcs artifact does not.
    assert [f"{p.line}:{p.column}" for p in result.errors] == ["14:39"]
    assert "artifact 'm' is stored in gcs" in result.errors[0].message
    assert check(UNSUPPORTED).ok
