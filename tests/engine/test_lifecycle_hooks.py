"""Lifecycle hooks other than `exit`: each runs once, when its expression first holds."""

from __future__ import annotations

from collections import Counter

from tests.engine.conftest import PodRun, Sim
from tests.engine.controller_like import drive
from trainyard.engine.actions import PodRequest

STEP_HOOKS = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: hooks-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: step-1
        template: echo
        hooks:
          running:
            expression: steps["step-1"].status == "Running"
            template: notify
          success:
            expression: steps["step-1"].status == "Succeeded"
            template: notify
          never:
            expression: steps["step-1"].status == "Failed"
            template: notify
    - - name: step2
        template: echo
        hooks:
          running:
            expression: steps.step2.status == "Running"
            template: notify
  - name: echo
    container: {image: busybox, command: [echo, hi]}
  - name: notify
    http: {url: "http://127.0.0.1:1/hook"}
"""


def _started(sim: Sim) -> Counter[str]:
    return Counter(sim.started)


def test_step_hooks_run_once_when_their_expression_first_holds() -> None:
    sim = drive(STEP_HOOKS)
    assert sim.phase == "Succeeded", sim.workflow.status
    hooks = sorted(name for name in sim.names() if ".hooks." in name)
    assert hooks == [
        "wf[0].step-1.hooks.running",
        "wf[0].step-1.hooks.success",
        "wf[1].step2.hooks.running",
    ]
    assert all(count == 1 for count in _started(sim).values()), sim.started
    for name in hooks:
        hook = sim.node(name)
        assert (hook.type, hook.phase, hook.node_flag) == ("HTTP", "Succeeded", {"hooked": True})
        owner = sim.node(name.split(".hooks.")[0])
        assert hook.id in (owner.children or [])
    # The next group waits for the hooks of the last one.
    assert sim.started.index("wf[0].step-1.hooks.success") < sim.started.index("wf[1].step2")


def test_a_running_hook_starts_while_its_step_runs() -> None:
    def rule(pod: PodRequest) -> PodRun:
        return PodRun(seconds=30 if pod.node_name.endswith("step-1") else 1)

    sim = drive(STEP_HOOKS, rule)
    step = sim.node("wf[0].step-1")
    running = sim.node("wf[0].step-1.hooks.running")
    assert running.started_at is not None and step.finished_at is not None
    assert running.finished_at is not None and running.finished_at < step.finished_at


WORKFLOW_HOOKS = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: hooks-}
spec:
  entrypoint: main
  hooks:
    exit:
      template: notify
    running:
      expression: workflow.status == "Running"
      template: notify
    done:
      expression: workflow.status == "Succeeded"
      template: report
      arguments:
        parameters: [{name: status, value: "{{workflow.status}}"}]
  templates:
  - name: main
    steps:
    - - name: step1
        template: heads
  - name: heads
    container: {image: busybox, command: [echo, heads]}
  - name: notify
    http: {url: "http://127.0.0.1:1/hook"}
  - name: report
    inputs:
      parameters: [{name: status}]
    container: {image: busybox, command: [echo, "{{inputs.parameters.status}}"]}
"""


def test_workflow_hooks_run_under_the_root_and_the_workflow_waits_for_them() -> None:
    sim = drive(WORKFLOW_HOOKS)
    assert sim.phase == "Succeeded", sim.workflow.status
    root = sim.node("wf")
    running, done = sim.node("wf.hooks.running"), sim.node("wf.hooks.done")
    assert {running.id, done.id} <= set(root.children or [])
    assert (running.type, done.type) == ("HTTP", "Pod")
    assert done.inputs is not None and done.inputs.parameters[0].value == "Succeeded"
    assert all(count == 1 for count in _started(sim).values()), sim.started
    # `running` starts with the workflow; `done` once the steps ended, before the exit handler.
    assert running.started_at == sim.node("wf[0].step1").started_at
    order = sim.started
    assert order.index("wf[0].step1") < order.index("wf.hooks.done") < order.index("wf.onExit")


def test_a_failing_hook_does_not_fail_the_workflow() -> None:
    def rule(pod: PodRequest) -> PodRun:
        return PodRun(exit_code=1 if ".hooks." in pod.node_name else 0)

    sim = drive(WORKFLOW_HOOKS, rule)
    assert sim.phase == "Succeeded", sim.workflow.status
    assert sim.node("wf.hooks.running").phase == "Failed"


DAG_HOOKS = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: hooks-}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: a
        template: echo
        hooks:
          started:
            expression: tasks.a.status == "Running"
            template: notify
          failed:
            expression: tasks.a.status == "Failed"
            template: notify
            arguments:
              parameters: [{name: what, value: "{{tasks.a.status}}"}]
      - name: b
        depends: a
        template: echo
  - name: echo
    container: {image: busybox, command: [echo, hi]}
  - name: notify
    inputs:
      parameters: [{name: what, value: "-"}]
    container: {image: busybox, command: [echo, "{{inputs.parameters.what}}"]}
"""


def test_task_hooks_follow_the_task() -> None:
    def rule(pod: PodRequest) -> PodRun:
        return PodRun(exit_code=1 if pod.node_name == "wf.a" else 0)

    sim = drive(DAG_HOOKS, rule)
    assert sim.phase == "Failed"
    assert sorted(n for n in sim.names() if ".hooks." in n) == [
        "wf.a.hooks.failed",
        "wf.a.hooks.started",
    ]
    failed = sim.node("wf.a.hooks.failed")
    assert failed.inputs is not None and failed.inputs.parameters[0].value == "Failed"
    assert failed.boundary_id == sim.node("wf").id


def test_a_hook_without_expression_errors_its_step_group() -> None:
    text = STEP_HOOKS.replace('expression: steps.step2.status == "Running"\n', "")
    sim = drive(text)
    assert sim.phase == "Failed"
    group = sim.node("wf[1]")
    assert group.phase == "Error"
    assert group.message == "lifecycle hook 'running' needs an expression"
