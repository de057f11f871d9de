"""containerSet templates in the engine: one Pod node, a Container node per container, the
containers' ends taken from the pod's observation, and where the next step hangs."""

from __future__ import annotations

from collections.abc import Callable

from tests.engine.conftest import START, PodRun, Sim, make_workflow
from trainyard.engine.actions import ContainerState, KillPod, PodObservation, StartPod
from trainyard.engine.containerset import UNFINISHED
from trainyard.engine.workflow import decide
from trainyard.spec.models import NodeStatus, Outputs, Workflow

GRAPH = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
  - name: main
    containerSet:
      containers:
      - {name: a, image: argoproj/argosay:v2}
      - {name: b, image: argoproj/argosay:v2, dependencies: [a]}
      - {name: c, image: argoproj/argosay:v2, dependencies: [a]}
      - {name: d, image: argoproj/argosay:v2, dependencies: [b, c]}
"""

IN_STEPS = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: group, template: group}
    - - name: after
        template: echo
        arguments: {parameters: [{name: x, value: "{{steps.group.outputs.result}}"}]}
  - name: group
    containerSet:
      containers:
      - {name: a, image: argoproj/argosay:v2}
      - {name: main, image: argoproj/argosay:v2, dependencies: [a]}
      - {name: side, image: argoproj/argosay:v2}
  - name: echo
    inputs: {parameters: [{name: x}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.x}}"]}
"""


def nodes_by_name(wf: Workflow) -> dict[str, NodeStatus]:
    assert wf.status is not None
    return {n.name: n for n in wf.status.nodes.values()}


def first_tick(text: str) -> tuple[Workflow, list[StartPod]]:
    decision = decide(make_workflow(text), [], START)
    starts = [a for a in decision.actions if isinstance(a, StartPod)]
    return decision.workflow, starts


def test_each_container_gets_a_node_that_draws_the_graph() -> None:
    wf, starts = first_tick(GRAPH)
    assert len(starts) == 1 and starts[0].pod.template.container_set is not None
    nodes = nodes_by_name(wf)
    pod = nodes["wf"]
    assert pod.type == "Pod" and pod.phase == "Pending"
    ids = {name: node.id for name, node in nodes.items()}
    for name in "abcd":
        node = nodes[f"wf.{name}"]
        assert (node.type, node.phase, node.boundary_id) == ("Container", "Pending", pod.id)
        assert node.display_name == name and node.template_name == "main"
    assert pod.children == [ids["wf.a"]]
    assert nodes["wf.a"].children == [ids["wf.b"], ids["wf.c"]]
    assert nodes["wf.b"].children == nodes["wf.c"].children == [ids["wf.d"]]
    assert not nodes["wf.d"].children


def test_containers_run_with_the_pod_and_end_as_the_step_recorded() -> None:
    wf, starts = first_tick(GRAPH)
    pod_id = starts[0].pod.node_id
    wf = decide(wf, [PodObservation(pod_id, "Running", START)], START).workflow
    assert {n.phase for n in wf.status.nodes.values() if n.type == "Container"} == {"Running"}
    states = tuple(
        ContainerState(name, "Succeeded", 0, None, "2026-01-01T00:00:01Z", "2026-01-01T00:00:02Z")
        for name in "abcd"
    )
    ended = PodObservation(pod_id, "Succeeded", START, 0, containers=states)
    wf = decide(wf, [ended], START).workflow
    nodes = nodes_by_name(wf)
    assert wf.status is not None and wf.status.phase == "Succeeded"
    for name in "abcd":
        node = nodes[f"wf.{name}"]
        assert (node.phase, node.started_at, node.finished_at) == (
            "Succeeded",
            "2026-01-01T00:00:01Z",
            "2026-01-01T00:00:02Z",
        )
    assert wf.status.progress == "1/1"  # containers are not pods


def test_a_failed_container_fails_the_pod_with_its_message() -> None:
    wf, starts = first_tick(GRAPH)
    pod_id = starts[0].pod.node_id
    states = (
        ContainerState("a", "Succeeded", 0),
        ContainerState("b", "Failed", 143, "b: Error (exit code 143): stopped because ..."),
        ContainerState("c", "Failed", 3, "c: Error (exit code 3)", cause=True),
        ContainerState("d", "Error", None, "d: not started: its dependency 'b' did not succeed"),
    )
    wf = decide(wf, [PodObservation(pod_id, "Failed", START, 3, containers=states)], START).workflow
    nodes = nodes_by_name(wf)
    assert (nodes["wf"].phase, nodes["wf"].message) == ("Failed", "c: Error (exit code 3)")
    assert [nodes[f"wf.{n}"].phase for n in "abcd"] == ["Succeeded", "Failed", "Failed", "Error"]
    assert nodes["wf.d"].message == "d: not started: its dependency 'b' did not succeed"
    assert wf.status is not None and wf.status.phase == "Failed"


def test_containers_the_step_never_recorded_fail_with_the_pod() -> None:
    wf, starts = first_tick(GRAPH)
    pod_id = starts[0].pod.node_id
    ended = PodObservation(pod_id, "Error", START, None, "could not start the step")
    wf = decide(wf, [ended], START).workflow
    nodes = nodes_by_name(wf)
    assert nodes["wf"].message == "could not start the step"
    assert {(nodes[f"wf.{n}"].phase, nodes[f"wf.{n}"].message) for n in "abcd"} == {
        ("Failed", UNFINISHED)
    }


def test_a_stopped_workflow_fails_the_unstarted_pod_and_its_containers() -> None:
    wf, _ = first_tick(GRAPH)
    wf = wf.model_copy(update={"spec": wf.spec.model_copy(update={"shutdown": "Terminate"})})
    decision = decide(wf, [], START)
    kills = [a for a in decision.actions if isinstance(a, KillPod)]
    assert len(kills) == 1
    obs = PodObservation(kills[0].node_id, "Failed", START, message=kills[0].message)
    nodes = nodes_by_name(decide(decision.workflow, [obs], START).workflow)
    assert {nodes[f"wf.{n}"].phase for n in "abcd"} == {"Failed"}


def run_sim(text: str, rule: Callable[..., PodRun] | None = None) -> Sim:
    sim = Sim(make_workflow(text), rule or (lambda pod: PodRun(stdout="hi")))
    sim.run()
    return sim


def test_the_next_step_hangs_under_the_last_containers_and_reads_the_result() -> None:
    sim = run_sim(IN_STEPS)
    assert sim.phase == "Succeeded"
    nodes = nodes_by_name(sim.workflow)
    group = nodes["wf[1]"]
    # the set's last containers (nothing after them): main and side, not the pod
    for leaf in ("wf[0].group.main", "wf[0].group.side"):
        assert nodes[leaf].children == [group.id]
    assert group.id not in (nodes["wf[0].group"].children or [])
    assert nodes["wf[1].after"].inputs is not None
    assert nodes["wf[1].after"].inputs.parameters[0].value == "hi"


def test_a_dag_task_after_a_container_set() -> None:
    text = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: group}
      - {name: b, template: group, dependencies: [a]}
  - name: group
    containerSet:
      containers:
      - {name: main, image: argoproj/argosay:v2}
"""
    sim = run_sim(text)
    assert sim.phase == "Succeeded"
    nodes = nodes_by_name(sim.workflow)
    assert nodes["wf.a.main"].children == [nodes["wf.b"].id]
    assert nodes["wf.b.main"].type == "Container"
    assert nodes["wf"].outbound_nodes == [nodes["wf.b.main"].id]


def test_a_retried_container_set_gets_containers_per_attempt() -> None:
    text = GRAPH.replace("    containerSet:", "    retryStrategy: {limit: 1}\n    containerSet:")
    attempts: list[str] = []

    def rule(pod: object) -> PodRun:
        attempts.append("x")
        return PodRun(exit_code=1 if len(attempts) == 1 else 0)

    sim = run_sim(text, rule)
    assert sim.phase == "Succeeded"
    nodes = nodes_by_name(sim.workflow)
    assert nodes["wf"].type == "Retry"
    assert nodes["wf(0)"].phase == "Failed" and nodes["wf(1)"].phase == "Succeeded"
    assert nodes["wf(0).d"].phase == "Failed" and nodes["wf(1).d"].phase == "Succeeded"
    assert nodes["wf(1).a"].boundary_id == nodes["wf(1)"].id


def test_outputs_of_the_pod_are_kept() -> None:
    wf, starts = first_tick(IN_STEPS)
    pod_id = starts[0].pod.node_id
    outputs = Outputs.model_validate({"exitCode": "0", "result": "hello"})
    states = tuple(ContainerState(n, "Succeeded", 0) for n in ("a", "main", "side"))
    obs = PodObservation(pod_id, "Succeeded", START, 0, outputs=outputs, containers=states)
    nodes = nodes_by_name(decide(wf, [obs], START).workflow)
    pod = nodes["wf[0].group"]
    assert pod.outputs is not None and pod.outputs.result == "hello"
    assert pod.outputs.exit_code == "0"
