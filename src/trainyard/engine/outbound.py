"""Outbound nodes: the last nodes of a subtree, which the next step or task hangs under."""

from __future__ import annotations

from trainyard.engine.run import Run


def outbound_nodes(run: Run, nid: str) -> list[str]:
    """Ids of the nodes that end the subtree rooted at `nid` (Argo's getOutboundNodes)."""
    node = run.by_id(nid)
    if node.type in ("Skipped", "Suspend", "Pod", "HTTP"):
        return [node.id]
    if node.memoization_status is not None and node.memoization_status.hit:
        return [node.id]  # a steps/DAG node taken from the cache has no children
    if node.type in ("TaskGroup", "Container"):
        if not node.children:
            return [node.id]
        out: list[str] = []
        for child in node.children:
            out.extend(outbound_nodes(run, child))
        return out
    if node.type == "Retry":
        return [node.children[-1]] if node.children else []
    out = []
    for child in node.outbound_nodes or []:
        out.extend(outbound_nodes(run, child))
    return out
