"""containerSet templates: what validation refuses (names, dependencies, cycles, `main`), and
what the local engine runs or refuses (the container executor, a container without command)."""

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
