"""Outbound nodes: the last nodes of a subtree, which the next step or task hangs under."""

from __future__ import annotations

from trainyard.engine.run import Run


def outbound_nodes(run: Run, nid: str) -> list[str]:
    """Ids of the nodes that end the subtree rooted at `nid` (Argo's getOutboundNodes)."""
    node = run.by_id(nid)
    if node.type in ("Skipped", "Suspend", "Pod", "HTTP"):
        return [node.id]
    if node.type in ("TaskGroup", "Container"):
        if not node.children:
            return [node.id]
        out: list[str] = []
        for child in node.children:
            out.extend(outbound_nodes(run, child))
        return out
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
