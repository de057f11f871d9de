"""The phase of a DAG, decided from its target tasks as Argo's assessDAGPhase does."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from trainyard.engine.run import Run
from trainyard.spec.models import DAGTask, Template
from trainyard.spec.models.status import STEP_NODE_TYPES


def assess(
    run: Run,
    dag_id: str,
    targets: list[str],
    node_name: Callable[[str], str],
    tmpl: Template,
    tasks: dict[str, DAGTask],
) -> str:
    """Running while any reachable node runs; else Failed/Error if a target branch failed."""
    if run.shutdown:
        return _shutdown_phase(run, dag_id)
    target_ids = {run.id_of(node_name(t)): t for t in targets}
    target_phase: dict[str, str] = {}
    boundary = run.by_id(dag_id)
    queue = deque((cid, "Succeeded") for cid in boundary.children or [])
    seen: set[tuple[str, str]] = set()
    while queue:
        nid, branch = queue.popleft()
        if (nid, branch) in seen:
            continue
        seen.add((nid, branch))
        node = run.nodes.get(nid)
        if node is None or not node.fulfilled_or_daemoned:
            return "Running"
        if node.completed:
            branch = node.phase
        if nid in target_ids and target_phase.get(nid) not in ("Failed", "Error"):
            target_phase[nid] = branch
        queue.extend((c, branch) for c in _next_ids(run, node.type, node.children or []))
    fail_fast = tmpl.dag is None or tmpl.dag.fail_fast is None or tmpl.dag.fail_fast
    result = "Succeeded"
    for nid, task in target_ids.items():
        phase = target_phase.get(nid, "")
        if phase == "":
            result = "Running"
            if not fail_fast:
                break
        elif phase in ("Failed", "Error"):
            if tasks[task].continues_on(phase):
                continue
            result = phase
            if fail_fast:
                break
    return result


def _next_ids(run: Run, node_type: str, children: list[str]) -> list[str]:
    """Where the walk goes on from a node: a Retry's attempts are looked through."""
    if node_type != "Retry":
        return children
    out: list[str] = []
    for cid in reversed(children):
        child = run.by_id(cid)
        if (child.node_flag or {}).get("hooked"):
            out.append(cid)
        else:
            out.extend(child.children or [])
    return out


def _shutdown_phase(run: Run, dag_id: str) -> str:
    """While stopping, the DAG waits for its pods to end, then fails."""
    for node in run.nodes.values():
        if node.boundary_id == dag_id and not node.fulfilled and node.type in STEP_NODE_TYPES:
            return "Running"
    return "Failed"
