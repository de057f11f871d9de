"""Workflows as people read them: the summary and the node tree of `argo get`, and list rows."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from trainyard.cli.output import Format, emit, is_structured, out
from trainyard.core.clock import parse_time
from trainyard.core.durations import format_duration
from trainyard.engine.naming import pod_name
from trainyard.spec.models import NodeStatus, Workflow

ICONS = {
    "Succeeded": ("✔", "green"),
    "Failed": ("✖", "red"),
    "Error": ("⚠", "red"),
    "Running": ("●", "cyan"),
    "Pending": ("◷", "yellow"),
    "Skipped": ("○", "dim"),
    "Omitted": ("○", "dim"),
}
PHASE_STYLE = {"Succeeded": "green", "Failed": "red", "Error": "red", "Running": "cyan"}


def duration(started: str | None, finished: str | None, now: datetime | None = None) -> str:
    """How long something ran (or has been running)."""
    if not started:
        return ""
    end = parse_time(finished) if finished else (now or datetime.now(UTC))
    return format_duration(max(0.0, (end - parse_time(started)).total_seconds()))


def summary(wf: Workflow) -> Table:
    """The header of `trainyard get`: name, status, times, parameters."""
    status = wf.status
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    phase = (status.phase if status else None) or "Pending"
    table.add_row("Name:", wf.metadata.name or "")
    table.add_row("Namespace:", wf.metadata.namespace or "default")
    table.add_row("Status:", Text(phase, style=PHASE_STYLE.get(phase, "")))
    if status and status.message:
        table.add_row("Message:", status.message)
    if wf.metadata.creation_timestamp:
        table.add_row("Created:", wf.metadata.creation_timestamp)
    if status and status.started_at:
        table.add_row("Started:", status.started_at)
    if status and status.finished_at:
        table.add_row("Finished:", status.finished_at)
    if status and status.started_at:
        table.add_row("Duration:", duration(status.started_at, status.finished_at))
    if status and status.progress:
        table.add_row("Progress:", status.progress)
    params = wf.spec.arguments.parameters if wf.spec.arguments else []
    if params:
        table.add_row("Parameters:", "")
        for param in params:
            table.add_row(f"  {param.name}:", param.value or "")
    outputs = status.outputs if status else None
    if outputs and outputs.parameters:
        table.add_row("Outputs:", "")
        for param in outputs.parameters:
            table.add_row(f"  {param.name}:", param.value or "")
    return table


def _display_children(nodes: dict[str, NodeStatus], owned: set[str], node: NodeStatus) -> list[str]:
    if node.type == "Steps":
        groups = [n for n in nodes.values() if n.boundary_id == node.id and n.type == "StepGroup"]
        groups.sort(key=lambda g: int(g.name[g.name.rindex("[") + 1 : -1]))
        out = [
            cid
            for group in groups
            for cid in group.children or []
            if cid in nodes and nodes[cid].boundary_id == node.id
        ]
        return out + _hooks(nodes, node)
    if node.type == "DAG":
        # status.nodes keeps creation order: tasks are listed in the order they started
        return [n.id for n in nodes.values() if n.boundary_id == node.id and n.id not in owned]
    if node.type in ("TaskGroup", "Retry", "StepGroup"):
        return [c for c in node.children or [] if c in nodes]
    if node.type == "Pod" and node.children:
        # the containers of a containerSet, in the order they are declared
        containers = [
            n.id for n in nodes.values() if n.boundary_id == node.id and n.type == "Container"
        ]
        return containers + _hooks(nodes, node)
    return _hooks(nodes, node)


def _hooks(nodes: dict[str, NodeStatus], node: NodeStatus) -> list[str]:
    return [
        c for c in node.children or [] if c in nodes and (nodes[c].node_flag or {}).get("hooked")
    ]


def _owned(nodes: dict[str, NodeStatus]) -> set[str]:
    owned: set[str] = set()
    for node in nodes.values():
        if node.type in ("TaskGroup", "Retry", "StepGroup"):
            owned.update(node.children or [])
        owned.update(
            c
            for c in node.children or []
            if (nodes.get(c) and (nodes[c].node_flag or {}).get("hooked"))
        )
    return owned


def node_table(wf: Workflow, wide: bool = False) -> Table:
    """The node tree: STEP, TEMPLATE, PODNAME, DURATION, MESSAGE."""
    table = Table(box=None, padding=(0, 2), pad_edge=False, show_edge=False)
    for column in ("STEP", "TEMPLATE", "PODNAME", "DURATION", "MESSAGE"):
        table.add_column(
            column,
            no_wrap=column != "MESSAGE",
            overflow="fold",
            min_width=7 if column == "MESSAGE" else None,
        )
    if wide:
        table.add_column("NODE ID", no_wrap=True)
    status = wf.status
    if status is None or not status.nodes:
        return table
    nodes = status.nodes
    owned = _owned(nodes)
    roots = [n for n in nodes.values() if n.boundary_id is None and n.id not in owned]
    roots.sort(key=lambda n: (n.name != wf.metadata.name, n.started_at or ""))
    for index, root in enumerate(roots):
        _add_rows(
            table,
            wf.metadata.name or "",
            nodes,
            owned,
            root,
            "",
            index == len(roots) - 1,
            True,
            wide,
        )
    return table


def _add_rows(
    table: Table,
    workflow: str,
    nodes: dict[str, NodeStatus],
    owned: set[str],
    node: NodeStatus,
    prefix: str,
    last: bool,
    top: bool,
    wide: bool,
) -> None:
    icon, style = ICONS.get(node.phase, ("?", ""))
    branch = "" if top else ("└─ " if last else "├─ ")
    label = Text(prefix + branch)
    label.append(icon, style=style)
    label.append(" " + (node.display_name or node.name))
    pod = pod_name(workflow, node.name, node.template_name or "") if node.type == "Pod" else ""
    row: list[str | Text] = [
        label,
        node.template_name or "",
        pod,
        duration(node.started_at, node.finished_at),
        node.message or "",
    ]
    if wide:
        row.append(node.id)
    table.add_row(*row)
    children = _display_children(nodes, owned, node)
    inner = prefix + ("" if top else ("   " if last else "│  "))
    for i, cid in enumerate(children):
        _add_rows(
            table, workflow, nodes, owned, nodes[cid], inner, i == len(children) - 1, False, wide
        )


def workflow_view(wf: Workflow, wide: bool = False) -> RenderableType:
    """Summary and node tree, as `trainyard get` prints them."""
    return Group(summary(wf), Text(""), node_table(wf, wide))


def show_workflow(wf: Workflow, output: Format, brief: bool = False) -> None:
    """Print a workflow as -o asks: JSON/YAML, its name, a one-line note (`brief`) or the tree."""
    if is_structured(output):
        emit(wf.dump(), output)
    elif output == Format.name:
        out.print(wf.metadata.name or "")
    elif brief:
        out.print(f"Workflow {wf.metadata.name} submitted", highlight=False)
    else:
        out.print(workflow_view(wf, wide=output == Format.wide))


def list_table(workflows: list[Workflow], wide: bool = False) -> Table:
    """One row per workflow: NAME, STATUS, AGE, DURATION, PROGRESS, MESSAGE."""
    table = Table(box=None, padding=(0, 2), pad_edge=False)
    for column in ("NAME", "STATUS", "AGE", "DURATION", "PROGRESS", "MESSAGE"):
        table.add_column(column, no_wrap=column != "MESSAGE")
    if wide:
        table.add_column("NAMESPACE")
    for wf in workflows:
        status = wf.status
        phase = (status.phase if status else None) or "Pending"
        row: list[str | Text] = [
            wf.metadata.name or "",
            Text(phase, style=PHASE_STYLE.get(phase, "")),
            duration(wf.metadata.creation_timestamp, None),
            duration(status.started_at if status else None, status.finished_at if status else None),
            (status.progress if status else "") or "",
            (status.message if status else "") or "",
        ]
        if wide:
            row.append(wf.metadata.namespace or "default")
        table.add_row(*row)
    return table
