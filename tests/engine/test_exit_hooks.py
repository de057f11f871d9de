"""Exit hooks of steps: their arguments may read the outputs of the step they belong to."""

from __future__ import annotations

from tests.engine.conftest import PodRun
from tests.engine.controller_like import drive
from trainyard.engine.actions import PodRequest

HOOKED = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: h-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: train
        template: train
        hooks:
          exit:
            template: notify
            arguments:
              parameters:
              - {name: acc, value: "{{steps.train.outputs.parameters.acc}}"}
              - {name: status, value: "{{steps.train.status}}"}
  - name: train
    container: {image: busybox, command: [echo]}
    outputs:
      parameters:
      - {name: acc, valueFrom: {path: /tmp/acc}}
  - name: notify
    inputs:
      parameters: [{name: acc}, {name: status}]
    container: {image: busybox, command: [echo, "{{inputs.parameters.acc}}"]}
"""


def test_step_exit_hook_arguments_read_the_step_itself() -> None:
    # Argo nils the hooks out before substituting the step (steps.go resolveReferences).
    def rule(pod: PodRequest) -> PodRun:
        return PodRun(parameters={"acc": "0.93"} if pod.node_name.endswith("train") else {})

    sim = drive(HOOKED, rule)
    assert sim.phase == "Succeeded", sim.workflow.status
    hook = sim.node("wf[0].train.onExit")
    assert hook.inputs is not None
    assert {p.name: p.value for p in hook.inputs.parameters} == {
        "acc": "0.93",
        "status": "Succeeded",
    }
