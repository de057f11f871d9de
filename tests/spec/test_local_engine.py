"""What the local engine now runs (http templates, lifecycle hooks) and what needs a cluster."""

from __future__ import annotations

from trainyard.spec.check import check_text

RUNS = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: x-}
spec:
  entrypoint: main
  hooks:
    exit: {template: ping}
    running: {expression: workflow.status == "Running", template: ping}
  templates:
  - name: main
    steps:
    - - name: step-1
        template: ping
        hooks:
          done: {expression: 'steps["step-1"].status == "Succeeded"', template: ping}
  - name: ping
    http:
      url: https://example.com/
      method: POST
      timeoutSeconds: 5
      successCondition: response.statusCode == 201
      headers:
      - {name: X-A, value: b}
      - name: Authorization
        valueFrom: {secretKeyRef: {name: api, key: token}}
"""


def test_http_templates_and_lifecycle_hooks_run_locally() -> None:
    result = check_text(RUNS, "wf.yaml", local=True)
    assert result.ok, [str(p) for p in result.errors]


def test_a_hook_other_than_exit_needs_an_expression() -> None:
    text = RUNS.replace(
        'running: {expression: workflow.status == "Running", template: ping}',
        "running: {template: ping}",
    )
    result = check_text(text, "wf.yaml", local=True)
    assert [str(p) for p in result.errors] == [
        "wf.yaml:8:5: error: lifecycle hook 'running' has no expression: a hook other than "
        "'exit' runs when its expression becomes true (e.g. workflow.status == \"Running\")"
    ]


PLUGIN = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: x-}
spec:
  entrypoint: main
  templates:
  - name: main
    plugin:
      hello: {}
  - name: uses
    inputs:
      artifacts:
      - name: data
        path: /data
        plugin: {name: my-plugin, configuration: "{}", key: data}
    container: {image: busybox, command: ["true"]}
"""


def test_plugins_need_a_cluster() -> None:
    result = check_text(PLUGIN, "wf.yaml", local=True)
    messages = [p.message for p in result.errors]
    assert len(messages) == 2, messages
    assert all("needs a Kubernetes cluster (executor plugin)" in m for m in messages)
    assert messages[0].startswith("template 'main' is a plugin template")
    assert messages[1].startswith("artifact 'data' is stored by a plugin")


def test_an_http_success_condition_must_parse() -> None:
    text = RUNS.replace(
        "successCondition: response.statusCode == 201", "successCondition: response.statusCode =="
    )
    result = check_text(text, "wf.yaml")
    assert len(result.errors) == 1
    error = result.errors[0]
    assert (error.line, error.column) == (21, 7)
    assert error.message.startswith("invalid successCondition: ")
