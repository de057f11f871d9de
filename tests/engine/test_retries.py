"""Retries of steps and DAG templates, whose attempts can end within one engine tick."""

from __future__ import annotations

from tests.engine.conftest import PodRun
from tests.engine.controller_like import drive
from trainyard.engine.actions import PodRequest

RETRIED_STEPS = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: r-}
spec:
  entrypoint: main
  templates:
  - name: main
    retryStrategy: {limit: "2"}
    steps:
    - - {name: train, template: train}
  - name: train
    container: {image: busybox, command: [sh, -c, "exit 1"]}
"""


def test_a_failed_steps_attempt_is_retried_without_waiting_for_an_event() -> None:
    # Argo re-executes the retry node as soon as its child is fulfilled (executeTemplate);
    # a steps attempt ends in the tick that sees its last pod, with no pod left to wake us.
    sim = drive(RETRIED_STEPS, lambda pod: PodRun(exit_code=1))
    assert sim.phase == "Failed"
    root = sim.node("wf")
    assert root.type == "Retry" and root.message == "No more retries left"
    assert [sim.node(f"wf({i})").phase for i in range(3)] == ["Failed"] * 3
    assert sim.started == ["wf(0)[0].train", "wf(1)[0].train", "wf(2)[0].train"]


def test_a_steps_attempt_succeeding_later_ends_the_retry() -> None:
    def rule(pod: PodRequest) -> PodRun:
        return PodRun(exit_code=0 if pod.node_name.startswith("wf(1)") else 1)

    sim = drive(RETRIED_STEPS, rule)
    assert sim.phase == "Succeeded"
    assert sim.node("wf(0)").phase == "Failed"
    assert sim.node("wf(1)").phase == "Succeeded"
