"""What users do to a workflow (stop, terminate, resume, retry, resubmit...), as pure edits."""

from __future__ import annotations

from datetime import datetime

from trainyard.core.clock import format_time
from trainyard.core.errors import ConflictError
from trainyard.core.ids import node_id
from trainyard.engine.suspend import supplied_defaults
from trainyard.spec.models import (
    NodeStatus,
    ObjectMeta,
    Outputs,
    Parameter,
    Workflow,
    WorkflowSpec,
    WorkflowStatus,
)
from trainyard.spec.models.status import STEP_NODE_TYPES

FINISHED = frozenset({"Succeeded", "Failed", "Error"})


def _running(wf: Workflow, verb: str) -> None:
    phase = wf.status.phase if wf.status else None
    if phase in FINISHED:
        raise ConflictError(
            f"cannot {verb} workflow {wf.metadata.name!r}: it already {phase.lower()}"
            if phase != "Error"
            else f"cannot {verb} workflow {wf.metadata.name!r}: it ended in Error"
        )


def with_spec(wf: Workflow, **fields: object) -> Workflow:
    """A copy of `wf` whose spec has `fields` replaced."""
    return wf.model_copy(update={"spec": wf.spec.model_copy(update=fields)})


def stop(wf: Workflow) -> Workflow:
    """Ask running steps to end; exit handlers still run (Argo's `stop`)."""
    _running(wf, "stop")
    return with_spec(wf, shutdown="Stop")


def terminate(wf: Workflow) -> Workflow:
    """End running steps at once; no exit handler runs (Argo's `terminate`)."""
    _running(wf, "terminate")
    return with_spec(wf, shutdown="Terminate")


def suspend(wf: Workflow) -> Workflow:
    """Start no new steps until resumed; running steps go on."""
    _running(wf, "suspend")
    return with_spec(wf, suspend=True)


def resume(wf: Workflow, now: datetime, node_name: str | None = None) -> Workflow:
    """Lift a suspension, and end suspend nodes that wait (all, or the one named)."""
    _running(wf, "resume")
    status = wf.status or WorkflowStatus()
    nodes = dict(status.nodes)
    stamp = format_time(now)
    for nid, node in status.nodes.items():
        waiting = node.type == "Suspend" and not node.fulfilled
        if waiting and (node_name is None or node_name in (node.name, node.display_name)):
            outputs, lacking = supplied_defaults(wf.spec.template(node.template_name or ""), node)
            if lacking:
                raise ConflictError(
                    f"node {node.display_name!r} needs output parameter {lacking[0]!r}, which "
                    "has no default: give it with `trainyard set --output-parameter`"
                )
            update = {"phase": "Succeeded", "finished_at": stamp, "outputs": outputs}
            nodes[nid] = node.model_copy(update=update)
    resumed = with_spec(wf, suspend=None)
    return resumed.model_copy(update={"status": status.model_copy(update={"nodes": nodes})})


def retry(wf: Workflow) -> Workflow:
    """Run a Failed/Errored workflow again, keeping what succeeded (Argo's `retry`)."""
    status = wf.status or WorkflowStatus()
    if status.phase not in ("Failed", "Error"):
        raise ConflictError(
            f"cannot retry workflow {wf.metadata.name!r}: it is {status.phase or 'Pending'}; "
            "only Failed or Error workflows can be retried"
        )
    drop = _nodes_to_rerun(status.nodes)
    nodes: dict[str, NodeStatus] = {}
    for nid, node in status.nodes.items():
        if nid not in drop:
            nodes[nid] = _reset(node, drop)
    new_status = status.model_copy(
        update={"phase": "Running", "message": None, "finished_at": None, "nodes": nodes}
    )
    spec = wf.spec.model_copy(update={"shutdown": None, "suspend": None})
    return wf.model_copy(update={"spec": spec, "status": new_status})


def _reset(node: NodeStatus, drop: set[str]) -> NodeStatus:
    """`node` without links to dropped nodes; a failed boundary node runs again."""
    children = [c for c in node.children or [] if c not in drop] or None
    if node.phase in ("Failed", "Error") and node.type not in STEP_NODE_TYPES:
        update = {"phase": "Running", "message": None, "finished_at": None, "children": children}
        return node.model_copy(update=update)
    if children != node.children:
        return node.model_copy(update={"children": children})
    return node


def _nodes_to_rerun(nodes: dict[str, NodeStatus]) -> set[str]:
    # Omitted nodes were left out because something failed: they get their chance again.
    drop = {
        nid
        for nid, n in nodes.items()
        if n.phase in ("Failed", "Error", "Omitted")
        and n.type in STEP_NODE_TYPES | {"Skipped", "Suspend"}
    }
    drop |= {nid for nid, n in nodes.items() if n.name.endswith(".onExit")}
    # everything under a dropped node goes too (exit hooks of a failed step, ...)
    changed = True
    while changed:
        changed = False
        for nid, node in nodes.items():
            if nid not in drop and node.boundary_id in drop:
                drop.add(nid)
                changed = True
    return drop


def resubmit(wf: Workflow, parameters: dict[str, str] | None = None) -> Workflow:
    """A new workflow with the same spec (and metadata labels), ready to submit."""
    spec: WorkflowSpec = wf.spec.model_copy(update={"shutdown": None, "suspend": None})
    if parameters and spec.arguments is not None:
        params = [
            p.model_copy(update={"value": parameters[p.name]}) if p.name in parameters else p
            for p in spec.arguments.parameters
        ]
        spec = spec.model_copy(
            update={"arguments": spec.arguments.model_copy(update={"parameters": params})}
        )
    base = wf.metadata.generate_name or f"{wf.metadata.name}-"
    meta = ObjectMeta(
        generate_name=base,
        namespace=wf.metadata.namespace,
        labels=dict(wf.metadata.labels or {}) or None,
        annotations=dict(wf.metadata.annotations or {}) or None,
    )
    return Workflow(metadata=meta, spec=spec)


def resubmit_memoized(
    wf: Workflow, name: str, parameters: dict[str, str] | None = None
) -> Workflow:
    """Argo's `resubmit --memoized`: a new workflow called `name` that starts with the nodes of
    a Failed/Error one, so that only what did not succeed runs again."""
    status = wf.status or WorkflowStatus()
    if status.phase not in ("Failed", "Error"):
        raise ConflictError(
            f"cannot resubmit workflow {wf.metadata.name!r} memoized: it is "
            f"{status.phase or 'Pending'}; only Failed or Error workflows can be"
        )
    old = wf.metadata.name or ""
    drop = _nodes_to_rerun(status.nodes)
    kept = {nid: _reset(n, drop) for nid, n in status.nodes.items() if nid not in drop}
    renamed = {nid: _renamed(n.name, old, name) for nid, n in kept.items()}
    ids = {nid: node_id(name, new_name) for nid, new_name in renamed.items()}
    nodes: dict[str, NodeStatus] = {}
    for nid, node in kept.items():
        update: dict[str, object] = {
            "id": ids[nid],
            "name": renamed[nid],
            "boundary_id": ids.get(node.boundary_id or ""),
            "children": [ids[c] for c in node.children or [] if c in ids] or None,
            "outbound_nodes": [ids[c] for c in node.outbound_nodes or [] if c in ids] or None,
            "template_scope": f"local/{name}" if node.template_scope else None,
        }
        if node.type == "Pod" and node.phase == "Succeeded":
            update["message"] = f"original pod: {nid}"
        nodes[ids[nid]] = node.model_copy(update=update)
    new = resubmit(wf, parameters)
    meta = new.metadata.model_copy(update={"name": name})
    return new.model_copy(update={"metadata": meta, "status": WorkflowStatus(nodes=nodes)})


def _renamed(node_name: str, old: str, new: str) -> str:
    return new + node_name[len(old) :] if node_name.startswith(old) else node_name


def set_nodes(
    wf: Workflow,
    node_ids: list[str],
    now: datetime,
    phase: str | None = None,
    message: str | None = None,
    output_parameters: dict[str, str] | None = None,
) -> Workflow:
    """Argo's `set`: give waiting suspend nodes a phase, a message or output parameters."""
    _running(wf, "set nodes of")
    if phase is not None and phase not in ("Succeeded", "Failed", "Error"):
        raise ConflictError(f"phase {phase!r} cannot be set: use Succeeded, Failed or Error")
    status = wf.status or WorkflowStatus()
    nodes = dict(status.nodes)
    for nid in node_ids:
        node = nodes[nid]
        if node.type != "Suspend" or node.fulfilled:
            raise ConflictError(
                f"node {node.display_name or node.name!r} is not a waiting suspend node: "
                "only those can be set"
            )
        update: dict[str, object] = {}
        if phase is not None:
            update.update(phase=phase, finished_at=format_time(now))
        if message is not None:
            update["message"] = message
        if output_parameters:
            update["outputs"] = _with_parameters(node, output_parameters)
        nodes[nid] = node.model_copy(update=update)
    return wf.model_copy(update={"status": status.model_copy(update={"nodes": nodes})})


def _with_parameters(node: NodeStatus, values: dict[str, str]) -> Outputs:
    outputs = node.outputs or Outputs()
    params = [
        p.model_copy(update={"value": values[p.name]}) if p.name in values else p
        for p in outputs.parameters
    ]
    known = {p.name for p in params}
    params += [Parameter(name=k, value=v) for k, v in values.items() if k not in known]
    return outputs.model_copy(update={"parameters": params})
