"""What a step can read of earlier steps (`steps.X.exitCode`), and how a group resolves."""

from __future__ import annotations

from tests.engine.conftest import PodRun
from tests.engine.controller_like import drive
from trainyard.engine.actions import PodRequest

EXIT_CODE = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: e-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: train, template: run, continueOn: {failed: true}}
    - - name: report
        template: report
        arguments: {parameters: [{name: code, value: "{{steps.train.exitCode}}"}]}
  - name: run
    container: {image: busybox, command: [sh, -c, "exit 3"]}
  - name: report
    inputs: {parameters: [{name: code}]}
    container: {image: busybox, command: [echo, "{{inputs.parameters.code}}"]}
"""


def test_steps_exit_code_is_in_scope() -> None:
    # Argo's NodeRefKeys: `steps.<name>.exitCode` (not under outputs).
    def rule(pod: PodRequest) -> PodRun:
        return PodRun(exit_code=3 if pod.node_name.endswith("train") else 0)

    sim = drive(EXIT_CODE, rule)
    assert sim.phase == "Succeeded"
    inputs = sim.node("wf[1].report").inputs
    assert inputs is not None and inputs.parameters[0].value == "3"


UNRESOLVABLE = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: u-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: ok, template: run}
      - name: broken
        template: run
        arguments: {artifacts: [{name: m, from: "{{steps.nope.outputs.artifacts.m}}"}]}
  - name: run
    inputs: {artifacts: [{name: m, path: /in/m, optional: true}]}
    container: {image: busybox, command: [echo]}
"""


def test_a_group_that_cannot_resolve_starts_none_of_its_steps() -> None:
    # Argo resolves every step of a group before it starts any (steps.go executeStepGroup).
    sim = drive(UNRESOLVABLE)
    assert sim.phase == "Failed"
    assert sim.started == []
    assert "wf[0].ok" not in sim.names()
    assert "steps.nope.outputs.artifacts.m" in (sim.node("wf[0]").message or "")
