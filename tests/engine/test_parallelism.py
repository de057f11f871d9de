"""Parallelism and failFast on the entry template itself."""

from __future__ import annotations

from tests.engine.conftest import PodRun
from tests.engine.controller_like import drive
from trainyard.engine.actions import PodRequest

SEQUENTIAL = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: p-}
spec:
  entrypoint: main
  templates:
  - name: main
    parallelism: 1
    failFast: true
    steps:
    - - name: epoch
        template: epoch
        arguments: {parameters: [{name: n, value: "{{item}}"}]}
        withItems: [1, 2, 3, 4, 5]
  - name: epoch
    inputs: {parameters: [{name: n}]}
    container: {image: busybox, command: [sh, -c, "exit 0"]}
"""


def test_entry_template_parallelism_holds_steps_back_instead_of_crashing() -> None:
    # Argo's operate() treats ErrParallelismReached from the entry template as "wait".
    sim = drive(SEQUENTIAL)
    assert sim.phase == "Succeeded"
    assert len(sim.started) == 5


def test_entry_template_fail_fast_ends_the_workflow() -> None:
    def rule(pod: PodRequest) -> PodRun:
        return PodRun(exit_code=1 if "(2:3)" in pod.node_name else 0)

    sim = drive(SEQUENTIAL, rule)
    assert sim.phase == "Failed"
    assert sim.started == ["wf[0].epoch(0:1)", "wf[0].epoch(1:2)", "wf[0].epoch(2:3)"]
    message = "template has failed or errored children and failFast enabled"
    assert sim.node("wf").message == message
    assert sim.workflow.status is not None and sim.workflow.status.message == message
