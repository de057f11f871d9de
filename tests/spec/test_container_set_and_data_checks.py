"""containerSet and data templates: what validation refuses (names, dependencies, cycles,
`main`; a data template without source), and what the local engine runs or refuses (the
container executor, a container without command, a data template listing gcs)."""

from __future__ import annotations

from collections.abc import Callable

from trainyard.spec.check import check_text

Errors = Callable[..., list[str]]

HEAD = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: w}
spec:
  entrypoint: main
  templates:
  - name: main
"""


def test_argo_examples_shapes_are_valid_and_run_locally(errors: Errors) -> None:
    text = HEAD + (
        "    volumes: [{name: ws, emptyDir: {}}]\n"
        "    containerSet:\n"
        "      volumeMounts: [{name: ws, mountPath: /ws}]\n"
        "      retryStrategy: {retries: '2', duration: 1s}\n"
        "      containers:\n"
        "      - {name: a, image: argoproj/argosay:v2}\n"
        "      - {name: main, image: python:3, command: [python3, -c, 'print(1)'],"
        " dependencies: [a]}\n"
        "    outputs: {parameters: [{name: o, valueFrom: {path: /ws/o}}]}\n"
    )
    assert errors(text, local=True) == []


def test_names_dependencies_and_cycles_are_checked(errors: Errors) -> None:
    text = HEAD + (
        "    containerSet:\n"
        "      containers:\n"
        "      - {name: a, image: x, command: [x], dependencies: [c]}\n"
        "      - {name: a, image: x, command: [x]}\n"
        "      - {name: b, image: x, command: [x], dependencies: [mian]}\n"
        "      - {name: c, image: x, command: [x], dependencies: [a]}\n"
        "      - {name: wait, image: x, command: [x]}\n"
    )
    assert errors(text) == [
        "10:43: cycle: a -> c -> a: remove one of these dependencies",
        "11:10: container name 'a' is used twice in this containerSet (first on line 10): "
        "rename one",
        "12:58: container 'b' depends on unknown container 'mian'; known containers: a, b, c, wait",
        "14:10: container name 'wait' is reserved for Argo's own containers: rename it",
    ]


def test_outputs_need_a_main_container(errors: Errors) -> None:
    text = HEAD + (
        "    containerSet:\n"
        "      containers: [{name: a, image: x, command: [x]}]\n"
        "    outputs: {parameters: [{name: o, valueFrom: {path: /o}}]}\n"
    )
    assert errors(text) == [
        "9:7: template 'main' has input artifacts or outputs, so its containerSet needs a "
        "container named 'main' (Argo loads and saves them with it)"
    ]


def test_an_empty_set_is_refused(errors: Errors) -> None:
    text = HEAD + "    containerSet: {containers: []}\n"
    assert errors(text) == [
        "8:5: containerSet of template 'main' has no containers: add at least one"
    ]


def test_a_container_without_command_is_refused_locally(errors: Errors) -> None:
    text = HEAD + (
        "    containerSet:\n"
        "      containers:\n"
        "      - {name: ok, image: argoproj/argosay:v2}\n"
        "      - {name: whale, image: docker/whalesay}\n"
    )
    assert errors(text) == []
    assert errors(text, local=True) == [
        "11:9: template 'main' container 'whale' has no command: the local engine runs host "
        "processes and cannot use the entrypoint of image 'docker/whalesay'; add `command:` "
        "(e.g. command: [python3])"
    ]


def test_the_container_executor_refuses_a_container_set() -> None:
    text = HEAD + "    containerSet:\n      containers: [{name: main, image: alpine}]\n"
    result = check_text(text, "wf.yaml", local=True, containers=True)
    assert [str(p) for p in result.errors] == [
        "wf.yaml:8:5: error: template 'main' is a containerSet template: the container "
        "executor does not run it; run the workflow with --executor process (its containers "
        "then run as host processes sharing one step)"
    ]


DATA = HEAD + (
    "    data:\n"
    "      source:\n"
    "        artifactPaths: {name: logs, LOCATION}\n"
    "      transformation:\n"
    "      - expression: 'filter(data, {# endsWith \"main.log\"})'\n"
    "      - expression: EXPRESSION\n"
)


def test_data_templates_list_s3_or_the_workflow_repository_locally(errors: Errors) -> None:
    text = DATA.replace(", LOCATION", "").replace("EXPRESSION", "'map(data, {# + \".x\"})'")
    assert errors(text, local=True) == []
    s3 = text.replace("{name: logs}", "{name: logs, s3: {bucket: b, key: runs/}}")
    assert errors(s3, local=True) == []
    gcs = text.replace("{name: logs}", "{name: logs, gcs: {bucket: b, key: runs/}}")
    assert errors(gcs) == []
    assert errors(gcs, local=True) == [
        "10:37: data template 'main' lists a gcs location: the local engine does not run it "
        "yet; submit the workflow to an Argo server (it lists s3, or the workflow's artifact "
        "repository when artifactPaths has no location)"
    ]


def test_data_templates_need_a_source_and_expressions_that_parse(errors: Errors) -> None:
    text = DATA.replace(", LOCATION", "").replace("EXPRESSION", "'map(data,'")
    assert errors(text) == [
        "13:9: invalid expression: expected a value, found the end at column 10 of "
        "expression 'map(data,'"
    ]
    assert errors(HEAD + "    data: {source: {}, transformation: []}\n") == [
        "8:5: data template 'main' has no source: add source.artifactPaths (the artifact "
        "location whose files it lists)"
    ]
