"""The Container nodes of a containerSet pod: created with the pod, ended from its step's record.

As in Argo, each container of the set gets a node `<pod node>.<container>` of type Container
whose boundary is the pod node. Containers without dependencies hang under the pod node, the
others under each container they depend on, so the nodes draw the set's graph.
"""

from __future__ import annotations

from collections.abc import Iterator

from trainyard.engine.actions import ContainerState, PodObservation
from trainyard.engine.run import Run
from trainyard.spec.models import NodeStatus, Template

UNFINISHED = "Pod Failed whilst container running"


def open_containers(run: Run, pod: NodeStatus, tmpl: Template) -> None:
    """Create the Container nodes of `tmpl`'s set under `pod` (once) and link the graph."""
    cset = tmpl.container_set
    if cset is None:
        return
    for name in cset.names():
        child = f"{pod.name}.{name}"
        if run.get(child) is None:
            run.init_node(child, "Container", pod.id, "Pending", template_name=tmpl.name)
    for node in cset.containers:
        child = f"{pod.name}.{node.name}"
        parents = [f"{pod.name}.{dep}" for dep in node.dependencies or []] or [pod.name]
        for parent in parents:
            run.add_child(parent, child)


def containers_of(run: Run, pod: NodeStatus) -> Iterator[NodeStatus]:
    """The Container nodes of `pod` (none for a pod that is not a containerSet)."""
    seen: set[str] = set()
    pending = list(pod.children or [])
    while pending:
        nid = pending.pop(0)
        node = run.nodes.get(nid)
        if nid in seen or node is None or node.type != "Container" or node.boundary_id != pod.id:
            continue
        seen.add(nid)
        yield node
        pending.extend(node.children or [])


def running(run: Run, pod: NodeStatus) -> None:
    """The pod started: its containers run (each waits for its dependencies inside it)."""
    for node in list(containers_of(run, pod)):
        if node.phase == "Pending":
            run.mark_node(node, "Running")


def finish(run: Run, pod: NodeStatus, obs: PodObservation) -> str | None:
    """End every Container node of `pod` as its step recorded; returns the message of the
    container whose failure ended the pod, else of the first one (as declared) that failed."""
    states = {state.name: state for state in obs.containers}
    for node in list(containers_of(run, pod)):
        if node.fulfilled:
            continue
        state = states.get(node.display_name or "")
        if state is None:
            phase = "Succeeded" if obs.phase == "Succeeded" else "Failed"
            run.mark_node(node, phase, None if phase == "Succeeded" else UNFINISHED)
            continue
        _end(run, node, state)
    failed = [s for s in obs.containers if s.phase != "Succeeded" and s.message]
    failed.sort(key=lambda s: not s.cause)
    return failed[0].message if failed else None


def _end(run: Run, node: NodeStatus, state: ContainerState) -> None:
    """End a Container node as its container ended, with the container's own times."""
    if state.started_at:
        node = run.update(node, started_at=state.started_at)
    node = run.mark_node(node, state.phase, state.message)
    if state.finished_at:
        run.update(node, finished_at=state.finished_at)
