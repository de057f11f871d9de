"""Argo's node field selectors (`displayName=approve,phase=Running`): which nodes an edit means."""

from __future__ import annotations

from collections.abc import Callable

from trainyard.core.errors import NotFoundError, UserError
from trainyard.spec.models import NodeStatus, Workflow

FIELDS: dict[str, Callable[[NodeStatus], str]] = {
    "id": lambda n: n.id,
    "name": lambda n: n.name,
    "displayName": lambda n: n.display_name,
    "templateName": lambda n: n.template_name or "",
    "phase": lambda n: n.phase,
    "type": lambda n: n.type,
}


def select_nodes(wf: Workflow, selector: str) -> list[NodeStatus]:
    """The nodes of `wf` meeting every `field=value` / `field!=value` of `selector`."""
    conditions: list[tuple[str, bool, str]] = []
    for part in selector.split(","):
        if not part.strip():
            continue
        negate = "!=" in part
        field, sep, value = part.replace("!=", "=").replace("==", "=").partition("=")
        field = field.strip()
        if field not in FIELDS or not sep:
            known = ", ".join(FIELDS)
            raise UserError(f"node field selector {part.strip()!r}: use FIELD=VALUE with {known}")
        conditions.append((field, negate, value.strip()))
    nodes = wf.status.nodes.values() if wf.status else []
    chosen = [
        node
        for node in nodes
        if all((FIELDS[f](node) == v) != negate for f, negate, v in conditions)
    ]
    if not chosen:
        raise NotFoundError(f"no node of workflow {wf.metadata.name!r} matches {selector!r}")
    return chosen
