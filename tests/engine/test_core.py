"""Engine semantics against Argo: node names and ids, steps, DAG phases, retries, limits."""

from __future__ import annotations

from collections.abc import Callable

from tests.engine.conftest import PodRun, Sim, make_workflow
from trainyard.core.clock import parse_time
from trainyard.core.ids import fnv1a_32, node_id
from trainyard.engine import operations
from trainyard.engine.actions import PodRequest

STEPS = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: s-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: a, template: echo}
    - - {name: b, template: echo}
      - {name: c, template: echo}
  - name: echo
    container: {image: busybox, command: [echo, hi]}
"""


def test_node_ids_are_fnv1a_of_the_node_name() -> None:
    # Known FNV-1a 32-bit values.
    assert fnv1a_32("") == 0x811C9DC5
    assert fnv1a_32("a") == 0xE40C292C
    assert node_id("wf", "wf") == "wf"
    assert node_id("wf", "wf[0].a") == f"wf-{fnv1a_32('wf[0].a')}"


def test_steps_run_in_groups_with_argo_names(simulate: Callable[..., Sim]) -> None:
    sim = simulate(STEPS)
    assert sim.phase == "Succeeded"
    assert sim.names() == ["wf", "wf[0]", "wf[0].a", "wf[1]", "wf[1].b", "wf[1].c"]
    assert sim.started == ["wf[0].a", "wf[1].b", "wf[1].c"]
    root = sim.node("wf")
    assert root.type == "Steps" and root.id == "wf"
    assert sim.node("wf[1]").type == "StepGroup"
    assert sim.node("wf[1]").display_name == "[1]"
    assert sim.node("wf[1].b").display_name == "b"
    assert sim.node("wf[1].b").boundary_id == "wf"
    # the second group hangs under the first group's step (Argo's outbound linking)
    assert sim.node("wf[0].a").children == [sim.node("wf[1]").id]
    assert sorted(root.outbound_nodes or []) == sorted(
        [sim.node("wf[1].b").id, sim.node("wf[1].c").id]
    )
    assert sim.workflow.status is not None and sim.workflow.status.progress == "3/3"


def test_failing_step_fails_the_workflow_with_exit_code(simulate: Callable[..., Sim]) -> None:
    def rule(pod: PodRequest) -> PodRun:
        return PodRun(exit_code=3 if pod.node_name.endswith(".b") else 0)

    sim = simulate(STEPS, rule)
    assert sim.phase == "Failed"
    assert sim.node("wf[1].b").phase == "Failed"
    assert sim.node("wf[1].b").message == "Error (exit code 3)"
    assert sim.node("wf[1].c").phase == "Succeeded"
    assert sim.node("wf[1]").phase == "Failed"


DAG = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: d-}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: A, template: echo}
      - {name: B, template: echo, depends: A}
      - {name: C, template: echo, depends: A}
      - {name: D, template: echo, depends: "B && C"}
      - {name: E, template: echo, depends: "D.Failed"}
  - name: echo
    container: {image: busybox, command: [echo, hi]}
"""


def test_dag_diamond_and_omitted_branch(simulate: Callable[..., Sim]) -> None:
    sim = simulate(DAG)
    assert sim.phase == "Succeeded"
    assert sim.node("wf.D").phase == "Succeeded"
    omitted = sim.node("wf.E")
    assert (omitted.type, omitted.phase) == ("Skipped", "Omitted")
    assert sim.started.index("wf.A") < sim.started.index("wf.B") < sim.started.index("wf.D")
    # A has no dependencies: child of the DAG; D hangs under both B and C
    assert sim.node("wf").children == [sim.node("wf.A").id]
    d_id = sim.node("wf.D").id
    assert d_id in (sim.node("wf.B").children or []) and d_id in (sim.node("wf.C").children or [])


def test_dag_failed_task_runs_failure_branch(simulate: Callable[..., Sim]) -> None:
    def rule(pod: PodRequest) -> PodRun:
        return PodRun(exit_code=1 if pod.node_name == "wf.D" else 0)

    sim = simulate(DAG, rule)
    assert sim.node("wf.D").phase == "Failed"
    assert sim.node("wf.E").phase == "Succeeded"
    # E is the only target (D has a dependent): the handled failure leaves the DAG Succeeded
    assert sim.phase == "Succeeded"


def test_dag_continue_on_failed_keeps_going(simulate: Callable[..., Sim]) -> None:
    text = DAG.replace(
        "{name: B, template: echo, depends: A}",
        "{name: B, template: echo, depends: A, continueOn: {failed: true}}",
    )
    text = (
        text.replace('depends: "B && C"', "dependencies: [B, C]")
        .replace('depends: "D.Failed"', "dependencies: [D]")
        .replace("depends: A}", "dependencies: [A]}")
    )
    text = text.replace("depends: A,", "dependencies: [A],")

    def rule(pod: PodRequest) -> PodRun:
        return PodRun(exit_code=1 if pod.node_name == "wf.B" else 0)

    sim = simulate(text, rule)
    assert sim.node("wf.B").phase == "Failed"
    assert sim.node("wf.D").phase == "Succeeded"
    assert sim.phase == "Succeeded"


RETRY = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: r-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: flaky, template: flaky}
  - name: flaky
    retryStrategy:
      limit: 3
      backoff: {duration: "10s", factor: 2}
    container: {image: busybox, command: [sh, -c, "exit 1"]}
"""


def test_retry_attempts_are_named_and_back_off(simulate: Callable[..., Sim]) -> None:
    attempts: list[str] = []

    def rule(pod: PodRequest) -> PodRun:
        attempts.append(pod.node_name)
        return PodRun(exit_code=0 if len(attempts) == 3 else 1, seconds=1)

    sim = simulate(RETRY, rule)
    assert sim.phase == "Succeeded"
    assert attempts == ["wf[0].flaky(0)", "wf[0].flaky(1)", "wf[0].flaky(2)"]
    retry = sim.node("wf[0].flaky")
    assert retry.type == "Retry" and retry.phase == "Succeeded"
    first, second, third = (sim.node(f"wf[0].flaky({i})") for i in range(3))
    assert (first.phase, second.phase, third.phase) == ("Failed", "Failed", "Succeeded")
    # backoff: 10 s after the first failure, then 20 s after the second
    assert _seconds_between(first.finished_at, second.started_at) >= 10
    assert _seconds_between(second.finished_at, third.started_at) >= 20


def test_retry_gives_up_after_limit(simulate: Callable[..., Sim]) -> None:
    sim = simulate(RETRY.replace("limit: 3", "limit: 1"), lambda pod: PodRun(exit_code=1))
    assert sim.phase == "Failed"
    assert sim.node("wf[0].flaky").message == "No more retries left"
    assert len(sim.node("wf[0].flaky").children or []) == 2


def test_retry_policy_on_error_does_not_retry_failures(simulate: Callable[..., Sim]) -> None:
    text = RETRY.replace("limit: 3", "limit: 3\n      retryPolicy: OnError")
    sim = simulate(text, lambda pod: PodRun(exit_code=1))
    assert len(sim.node("wf[0].flaky").children or []) == 1
    assert sim.phase == "Failed"


def _seconds_between(a: str | None, b: str | None) -> float:
    assert a and b
    return (parse_time(b) - parse_time(a)).total_seconds()


LOOPS = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: l-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: sweep
        template: train
        arguments:
          parameters: [{name: lr, value: "{{item.lr}}"}, {name: bs, value: "{{item.bs}}"}]
        withItems: [{lr: 0.1, bs: 8}, {lr: 0.01, bs: 16}]
    - - name: report
        template: train
        arguments:
          parameters:
          - {name: lr, value: "{{steps.sweep.outputs.parameters.acc}}"}
          - {name: bs, value: "1"}
  - name: train
    inputs: {parameters: [{name: lr}, {name: bs}]}
    outputs: {parameters: [{name: acc, valueFrom: {path: /tmp/acc}}]}
    container:
      image: python
      command: [echo, "{{inputs.parameters.lr}}", "{{inputs.parameters.bs}}"]
"""


def test_with_items_maps_and_aggregated_outputs(simulate: Callable[..., Sim]) -> None:
    seen: dict[str, list[str]] = {}

    def rule(pod: PodRequest) -> PodRun:
        main = pod.template.main_container()
        assert main is not None and main.command is not None
        seen[pod.node_name] = main.command[1:]
        return PodRun(parameters={"acc": str(len(seen))})

    sim = simulate(LOOPS, rule)
    assert sim.phase == "Succeeded"
    assert seen["wf[0].sweep(0:bs:8,lr:0.1)"] == ["0.1", "8"]
    assert seen["wf[0].sweep(1:bs:16,lr:0.01)"] == ["0.01", "16"]
    assert seen["wf[1].report"][0] == '["1","2"]'


def test_parallelism_limits_running_pods() -> None:
    text = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: p-}
spec:
  entrypoint: main
  parallelism: 2
  templates:
  - name: main
    steps:
    - - {name: fan, template: echo, withSequence: {count: "5"}}
  - name: echo
    container: {image: busybox, command: [echo, "{{item}}"]}
"""
    sim = Sim(make_workflow(text), lambda pod: PodRun(seconds=5))
    sim.tick()
    assert len(sim.running) == 2
    sim.run()
    assert sim.phase == "Succeeded"
    assert len(sim.started) == 5
    assert "wf[0].fan(4:4)" in sim.names()


DEADLINE = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: t-}
spec:
  entrypoint: main
  activeDeadlineSeconds: 30
  onExit: bye
  templates:
  - name: main
    steps:
    - - {name: slow, template: slow}
  - name: slow
    container: {image: busybox, command: [sleep, "1000"]}
  - name: bye
    container: {image: busybox, command: [echo, "{{workflow.status}}"]}
"""


def test_workflow_deadline_kills_pods_and_still_runs_exit_handler() -> None:
    sim = Sim(
        make_workflow(DEADLINE), lambda pod: PodRun(seconds=1000 if "slow" in pod.node_name else 1)
    )
    sim.run()
    assert sim.phase == "Failed"
    assert sim.killed and sim.killed[0][1] == "Step exceeded its deadline"
    assert sim.node("wf[0].slow").message == "Step exceeded its deadline"
    handler = sim.node("wf.onExit")
    assert handler.phase == "Succeeded"
    assert "wf.onExit" in sim.started


def test_stop_kills_running_pods_but_runs_exit_handler() -> None:
    sim = Sim(
        make_workflow(DEADLINE.replace("  activeDeadlineSeconds: 30\n", "")),
        lambda pod: PodRun(seconds=1000 if "slow" in pod.node_name else 1),
    )
    sim.tick()
    sim.workflow = sim.workflow.model_copy(
        update={"spec": sim.workflow.spec.model_copy(update={"shutdown": "Stop"})}
    )
    sim.run()
    assert sim.phase == "Failed"
    assert sim.workflow.status is not None
    assert sim.workflow.status.message == "Stopped with strategy 'Stop'"
    assert sim.node("wf.onExit").phase == "Succeeded"


def test_terminate_skips_exit_handler() -> None:
    sim = Sim(
        make_workflow(DEADLINE.replace("  activeDeadlineSeconds: 30\n", "")),
        lambda pod: PodRun(seconds=1000),
    )
    sim.tick()
    sim.workflow = sim.workflow.model_copy(
        update={"spec": sim.workflow.spec.model_copy(update={"shutdown": "Terminate"})}
    )
    sim.run()
    assert sim.phase == "Failed"
    assert "wf.onExit" not in sim.names()


def test_suspend_with_duration_waits(simulate: Callable[..., Sim]) -> None:
    text = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: s-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: wait, template: wait}
    - - {name: after, template: echo}
  - name: wait
    suspend: {duration: "20s"}
  - name: echo
    container: {image: busybox, command: [echo]}
"""
    sim = simulate(text)
    wait = sim.node("wf[0].wait")
    assert wait.type == "Suspend" and wait.phase == "Succeeded"
    assert _seconds_between(wait.started_at, wait.finished_at) >= 20
    assert sim.phase == "Succeeded"


def test_missing_template_errors_the_workflow(simulate: Callable[..., Sim]) -> None:
    text = STEPS.replace("{name: a, template: echo}", "{name: a, template: nope}")
    sim = simulate(text)
    assert sim.phase in ("Error", "Failed")
    assert "template 'nope' not found" in (sim.node("wf[0].a").message or "")


def test_retry_reruns_failed_and_omitted_nodes_of_a_dag() -> None:
    attempts: list[str] = []

    def rule(pod: PodRequest) -> PodRun:
        attempts.append(pod.node_name)
        return PodRun(exit_code=1 if attempts.count("wf.A") == 1 else 0)

    sim = Sim(make_workflow(DAG), rule)
    sim.run()
    assert sim.phase == "Failed"
    assert sim.node("wf.B").phase == "Omitted"
    sim.workflow = operations.retry(sim.workflow)
    sim.started = []  # the controller forgets the dropped pods, so they may start again
    sim.run()
    assert sim.phase == "Succeeded"
    assert sim.node("wf.D").phase == "Succeeded"
    assert attempts.count("wf.A") == 2 and attempts.count("wf.B") == 1
