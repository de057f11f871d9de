"""Suspend nodes: wait for a duration, or until resumed."""

from __future__ import annotations

from datetime import timedelta

from trainyard.core.durations import parse_duration
from trainyard.core.errors import UserError
from trainyard.engine.run import NodeError, Opts, Run
from trainyard.spec.models import NodeStatus, Template


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
            return run.mark_node(node, "Succeeded")
        run.wake(until)
    return run.mark_node(node, "Running")
