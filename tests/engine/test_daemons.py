"""Daemon steps and tasks: the scope goes on once the daemon is ready, and stops it at its end."""

from __future__ import annotations

from tests.engine.conftest import PodRun, Sim, make_workflow
from trainyard.engine.actions import KillPod, PodObservation, PodRequest, StartPod
from trainyard.engine.workflow import decide

STEPS = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: d-}
spec:
  entrypoint: main
  templates:
  - name: main
    PARALLELISM
    steps:
    - - name: server
        template: server
    - - name: client
        template: client
        arguments: {parameters: [{name: ip, value: "{{steps.server.ip}}"}]}
  - name: server
    daemon: true
    container: {image: python:3, command: [python3, -m, http.server]}
  - name: client
    inputs: {parameters: [{name: ip}]}
    container: {image: python:3, command: [echo, "{{inputs.parameters.ip}}"]}
"""

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
      - {name: server, template: server}
      - name: client
        depends: server
        template: client
        arguments: {parameters: [{name: ip, value: "{{tasks.server.ip}}"}]}
  - name: server
    daemon: true
    retryStrategy: {limit: 2}
    container: {image: python:3, command: [python3, -m, http.server]}
  - name: client
    inputs: {parameters: [{name: ip}]}
    container: {image: python:3, command: [echo, "{{inputs.parameters.ip}}"]}
"""


def _long_server(pod: PodRequest) -> PodRun:
    """The server runs until it is stopped; other pods take a second."""
    return PodRun(seconds=1000 if "server" in pod.node_name else 1)


def _server_ready(sim: Sim, name: str) -> None:
    node = sim.node(name)
    sim.tick([PodObservation(node.id, "Running", sim.now, host="localhost")])
    assert "wf[1].client" not in sim.started  # running is not ready yet
    sim.tick([PodObservation(node.id, "Running", sim.now, daemoned=True)])


def test_steps_go_on_once_the_daemon_is_ready_and_stop_it_at_the_end() -> None:
    sim = Sim(make_workflow(STEPS.replace("PARALLELISM", "")), _long_server)
    sim.tick()
    assert sim.started == ["wf[0].server"]
    _server_ready(sim, "wf[0].server")
    server = sim.node("wf[0].server")
    assert server.daemoned and server.phase == "Running" and server.pod_ip == "127.0.0.1"
    assert sim.started == ["wf[0].server", "wf[1].client"]
    client = sim.running[sim.node("wf[1].client").id][2]
    assert client.template.container is not None
    assert client.template.container.command == ["echo", "127.0.0.1"]
    sim.run()
    assert sim.phase == "Succeeded"
    server = sim.node("wf[0].server")
    assert server.phase == "Succeeded" and not server.daemoned and server.finished_at
    assert sim.killed == [(server.id, "daemon stopped: its scope ended")]


def test_a_ready_daemon_does_not_count_against_parallelism() -> None:
    sim = Sim(make_workflow(STEPS.replace("PARALLELISM", "parallelism: 1")), _long_server)
    sim.tick()
    _server_ready(sim, "wf[0].server")
    assert "wf[1].client" in sim.started
    assert sim.run().status is not None and sim.phase == "Succeeded"


def test_a_daemon_that_exits_by_itself_fails_its_step() -> None:
    sim = Sim(make_workflow(STEPS.replace("PARALLELISM", "")))
    sim.tick()
    node = sim.node("wf[0].server")
    sim.tick([PodObservation(node.id, "Succeeded", sim.now, 0)])
    assert sim.phase == "Failed"
    server = sim.node("wf[0].server")
    assert server.phase == "Failed"
    assert server.message == "daemon exited before its scope ended"
    assert "wf[1].client" not in sim.started


def test_dag_task_daemon_under_retry_strategy_is_daemoned_and_stopped() -> None:
    sim = Sim(make_workflow(DAG), _long_server)
    sim.tick()
    assert sim.started == ["wf.server(0)"]
    _server_ready(sim, "wf.server(0)")
    assert sim.node("wf.server").daemoned  # the Retry node too, so `depends` goes on
    assert "wf.client" in sim.started
    sim.run()
    assert sim.phase == "Succeeded"
    for name in ("wf.server", "wf.server(0)"):
        node = sim.node(name)
        assert (node.phase, node.daemoned) == ("Succeeded", None), name
    assert [m for _, m in sim.killed] == ["daemon stopped: its scope ended"]


def test_scope_end_kills_once_even_when_ticked_again() -> None:
    wf = make_workflow(STEPS.replace("PARALLELISM", ""))
    decision = decide(wf, [], wf_now := Sim(wf).now)
    server = next(a for a in decision.actions if isinstance(a, StartPod)).pod
    wf = decide(decision.workflow, [PodObservation(server.node_id, "Running", wf_now)], wf_now)
    wf = decide(
        wf.workflow, [PodObservation(server.node_id, "Running", wf_now, daemoned=True)], wf_now
    )
    client = next(a for a in wf.actions if isinstance(a, StartPod)).pod
    done = decide(wf.workflow, [PodObservation(client.node_id, "Succeeded", wf_now, 0)], wf_now)
    assert [a for a in done.actions if isinstance(a, KillPod)] == [
        KillPod(server.node_id, "daemon stopped: its scope ended")
    ]
    assert done.workflow.status is not None and done.workflow.status.phase == "Succeeded"
    # the daemon's own end (SIGTERM) arrives later and changes nothing
    later = decide(done.workflow, [PodObservation(server.node_id, "Failed", wf_now, 143)], wf_now)
    assert not later.changed and not later.actions


def _terminate(sim: Sim) -> None:
    spec = sim.workflow.spec.model_copy(update={"shutdown": "Terminate"})
    sim.workflow = sim.workflow.model_copy(update={"spec": spec})


def test_terminate_with_a_ready_daemon_in_steps_stops_it() -> None:
    def rule(pod: PodRequest) -> PodRun:
        return PodRun(seconds=1000)

    sim = Sim(make_workflow(STEPS.replace("PARALLELISM", "")), rule)
    sim.tick()
    _server_ready(sim, "wf[0].server")
    _terminate(sim)
    sim.run()
    assert sim.phase == "Failed"
    assert not sim.running
    server = sim.node("wf[0].server")
    assert server.fulfilled and not server.daemoned


def test_terminate_with_a_ready_daemon_in_a_dag_stops_it() -> None:
    sim = Sim(make_workflow(DAG), lambda pod: PodRun(seconds=1000))
    sim.tick()
    _server_ready(sim, "wf.server(0)")
    _terminate(sim)
    sim.run()
    assert sim.phase == "Failed"
    assert not sim.running
    assert sim.node("wf.server(0)").fulfilled and sim.node("wf.server").fulfilled


def test_a_daemon_put_back_in_the_queue_is_no_longer_daemoned() -> None:
    sim = Sim(make_workflow(STEPS.replace("PARALLELISM", "")), _long_server)
    sim.tick()
    server = sim.node("wf[0].server")
    sim.tick([PodObservation(server.id, "Running", sim.now, daemoned=True)])
    sim.tick([PodObservation(server.id, "Pending", sim.now, message="preempted")])
    assert (sim.node("wf[0].server").phase, sim.node("wf[0].server").daemoned) == (
        "Pending",
        None,
    )
