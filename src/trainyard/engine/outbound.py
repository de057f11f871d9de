"""Outbound nodes: the last nodes of a subtree, which the next step or task hangs under."""

from __future__ import annotations

from trainyard.engine.run import Run


def outbound_nodes(run: Run, nid: str) -> list[str]:
    """Ids of the nodes that end the subtree rooted at `nid` (Argo's getOutboundNodes)."""
    node = run.by_id(nid)
    if node.type == "Pod" and node.children:
        # A containerSet pod ends with the containers nothing else waits for.
        return _last_containers(run, node.id, node.id)
    if node.type in ("Skipped", "Suspend", "Pod", "HTTP"):
        return [node.id]
    if node.memoization_status is not None and node.memoization_status.hit:
        return [node.id]  # a steps/DAG node taken from the cache has no children
    if node.type == "TaskGroup":
        if not node.children:
            return [node.id]
        out: list[str] = []
        for child in node.children:
            out.extend(outbound_nodes(run, child))
        return out
    if node.type == "Container":
        return _last_containers(run, node.id, node.boundary_id)
    if node.type == "Retry":
        # its last attempt; its hooks (children too) are not where the next step hangs
        attempts = [
            c for c in node.children or [] if not (run.by_id(c).node_flag or {}).get("hooked")
        ]
        return attempts[-1:]
    out = []
    for child in node.outbound_nodes or []:
        out.extend(outbound_nodes(run, child))
    return out


def _last_containers(run: Run, nid: str, pod_id: str | None) -> list[str]:
    """The containers of pod `pod_id` below `nid` that have no container of the same pod after
    them (`nid` itself when it has none); what hangs under them later is the next step's."""
    node = run.by_id(nid)
    later = [
        child
        for child in node.children or []
        if child in run.nodes
        and run.by_id(child).type == "Container"
        and run.by_id(child).boundary_id == pod_id
    ]
    if not later:
        return [nid]
    out: list[str] = []
    for child in later:
        for found in _last_containers(run, child, pod_id):
            if found not in out:
                out.append(found)
    return out
