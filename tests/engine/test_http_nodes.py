"""http templates in the engine: HTTP nodes that run as steps, with results and retries."""

from __future__ import annotations

from tests.engine.conftest import PodRun
from tests.engine.controller_like import drive
from trainyard.engine.actions import PodRequest

HTTP_STEPS = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: http-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: fetch
        template: fetch
        arguments: {parameters: [{name: url, value: "http://127.0.0.1:9/data"}]}
    - - name: use
        template: use
        arguments: {parameters: [{name: body, value: "{{steps.fetch.outputs.result}}"}]}
  - name: fetch
    inputs: {parameters: [{name: url}]}
    retryStrategy: {limit: 2}
    http:
      url: "{{inputs.parameters.url}}"
      method: POST
      headers: [{name: X-Run, value: "{{workflow.name}}"}]
      body: "hello"
  - name: use
    inputs: {parameters: [{name: body}]}
    container: {image: busybox, command: [echo, "{{inputs.parameters.body}}"]}
"""


def test_an_http_template_is_an_http_node_whose_body_is_its_result() -> None:
    requests: dict[str, PodRequest] = {}

    def rule(pod: PodRequest) -> PodRun:
        requests[pod.node_name] = pod
        return PodRun(stdout='{"n": 1}' if pod.template.http is not None else "")

    sim = drive(HTTP_STEPS, rule)
    assert sim.phase == "Succeeded", sim.workflow.status
    attempt = sim.node("wf[0].fetch(0)")
    assert attempt.type == "HTTP"
    assert attempt.outputs is not None and attempt.outputs.result == '{"n": 1}'
    sent = requests["wf[0].fetch(0)"]
    assert sent.include_result
    assert sent.template.http is not None
    assert sent.template.http.url == "http://127.0.0.1:9/data"
    assert sent.template.http.headers[0].value == "wf"
    used = sim.node("wf[1].use")
    assert used.inputs is not None and used.inputs.parameters[0].value == '{"n": 1}'
    assert sim.workflow.status is not None and sim.workflow.status.progress == "2/2"


def test_a_failed_request_is_retried() -> None:
    def rule(pod: PodRequest) -> PodRun:
        first = pod.node_name == "wf[0].fetch(0)"
        return PodRun(exit_code=1 if first else 0, stdout="ok")

    sim = drive(HTTP_STEPS, rule)
    assert sim.phase == "Succeeded", sim.workflow.status
    assert sim.node("wf[0].fetch(0)").phase == "Failed"
    assert sim.node("wf[0].fetch(1)").phase == "Succeeded"
    assert sim.node("wf[0].fetch").type == "Retry"
