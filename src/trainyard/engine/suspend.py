"""Suspend nodes: wait for a duration, or until resumed."""

from __future__ import annotations

from datetime import timedelta

from trainyard.core.durations import parse_duration
from trainyard.core.errors import UserError
from trainyard.engine.run import NodeError, Opts, Run
from trainyard.spec.models import NodeStatus, Outputs, Parameter, Template


def execute(run: Run, node_name: str, tmpl: Template, opts: Opts) -> NodeStatus:
    """Create or continue the Suspend node `node_name`."""
    node = run.get(node_name) or run.open_node(node_name, "Suspend", "Pending", tmpl, opts)
    if node.fulfilled:
        return node
    if run.shutdown or (run.deadline is not None and run.now >= run.deadline):
        reason = (
            f"Stopped with strategy '{run.shutdown}'"
            if run.shutdown
            else ("Step exceeded its deadline")
        )
        return run.mark_node(node, "Failed", reason)
    duration = tmpl.suspend.duration if tmpl.suspend else None
    if duration is not None and str(duration) != "":
        try:
            seconds = parse_duration(duration)
        except UserError as exc:
            raise NodeError(f"suspend duration {duration!r} is not a duration") from exc
        until = run.started(node) + timedelta(seconds=seconds)
        if run.now >= until:
            return _with_supplied_defaults(run, run.mark_node(node, "Succeeded"), tmpl)
        run.wake(until)
    return run.mark_node(node, "Running")


def _with_supplied_defaults(run: Run, node: NodeStatus, tmpl: Template) -> NodeStatus:
    """A timed-out suspend node's `supplied` outputs, with their defaults (see
    `supplied_defaults`); one without a default makes the node an Error."""
    outputs, missing = supplied_defaults(tmpl, node)
    if missing:
        message = f"output parameter {missing[0]!r} was not supplied and has no default"
        return run.mark_node(node, "Error", message)
    return run.set_outputs(node, outputs) if outputs is not node.outputs else node


def supplied_defaults(tmpl: Template | None, node: NodeStatus) -> tuple[Outputs | None, list[str]]:
    """The node's outputs with the `supplied` parameters nobody set given their `default`s,
    as Argo fills them when a suspend step ends; and the names that have no default."""
    wanted = [
        p for p in (tmpl.outputs.parameters if tmpl and tmpl.outputs else [])
        if p.value_from and p.value_from.supplied is not None
    ]  # fmt: skip
    outputs = node.outputs
    have = {p.name for p in (outputs.parameters if outputs else []) if p.value is not None}
    missing = [p for p in wanted if p.name not in have]
    lacking = [p.name for p in missing if p.value_from is None or p.value_from.default is None]
    if not missing or lacking:
        return outputs, lacking
    added = [
        Parameter(name=p.name, value=str(p.value_from.default)) for p in missing if p.value_from
    ]
    base = outputs or Outputs()
    return base.model_copy(update={"parameters": [*base.parameters, *added]}), []
