"""data templates in the engine: a Pod node whose step lists and transforms, result and all."""

from __future__ import annotations

from tests.engine.conftest import PodRun, Sim, make_workflow
from trainyard.engine.actions import PodRequest

TEXT = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: list, template: list}
    - - {name: use, template: use, withParam: "{{steps.list.outputs.result}}",
         arguments: {parameters: [{name: key, value: "{{item}}"}]}}
  - name: list
    data:
      source: {artifactPaths: {name: logs, s3: {bucket: b, key: "{{workflow.name}}/"}}}
      transformation: [{expression: 'filter(data, {# endsWith "main.log"})'}]
  - name: use
    inputs: {parameters: [{name: key}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.key}}"]}
"""


def test_a_data_template_runs_as_a_pod_and_its_result_feeds_a_loop() -> None:
    requests: list[PodRequest] = []

    def rule(pod: PodRequest) -> PodRun:
        requests.append(pod)
        return PodRun(stdout='["wf/a/main.log","wf/b/main.log"]' if pod.template.data else "")

    sim = Sim(make_workflow(TEXT), rule)
    sim.run()
    assert sim.phase == "Succeeded"
    data = requests[0].template.data
    assert data is not None and data.source.artifact_paths is not None
    # the template arrives substituted
    assert data.source.artifact_paths.s3 == {"bucket": "b", "key": "wf/"}
    assert sim.node("wf[0].list").type == "Pod"
    assert sim.names().count("wf[1].use(0:wf/a/main.log)") == 1
    assert "wf[1].use(1:wf/b/main.log)" in sim.names()
