"""What each step of a workflow produced: parameters, metrics and artifacts, and where they are."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from trainyard.artifacts.base import Repositories
from trainyard.controller.stepio import location_of
from trainyard.core.clock import parse_time
from trainyard.core.durations import format_duration
from trainyard.core.errors import NotFoundError, UserError
from trainyard.spec.models import Artifact, NodeStatus, Workflow

METRICS = "metrics"
"""The output parameter whose JSON object (name -> number) holds a step's metrics."""


def metrics_of(node: NodeStatus) -> dict[str, float]:
    """A step's metrics: its numeric output parameters and its `metrics` JSON object."""
    found: dict[str, float] = {}
    for param in node.outputs.parameters if node.outputs else []:
        if param.value is None:
            continue
        if param.name == METRICS:
            found.update(_metrics_file(param.value))
            continue
        number = _number(param.value)
        if number is not None:
            found[param.name] = number
    return found


def _metrics_file(text: str) -> dict[str, float]:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): float(v) for k, v in data.items() if _number(v) is not None}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def steps(wf: Workflow) -> list[NodeStatus]:
    """The pod nodes of `wf` (its steps that ran something)."""
    nodes = wf.status.nodes.values() if wf.status else []
    return [n for n in nodes if n.type == "Pod"]


def duration(started: str | None, finished: str | None, now: datetime | None = None) -> str:
    """How long something ran (or has been running), as `trainyard get` writes it."""
    if not started:
        return ""
    end = parse_time(finished) if finished else (now or datetime.now(UTC))
    return format_duration(max(0.0, (end - parse_time(started)).total_seconds()))


def artifact_row(repositories: Repositories, art: Artifact) -> dict[str, Any]:
    """Name, path, repository, location and size of one stored artifact."""
    row: dict[str, Any] = {"name": art.name, "path": art.path}
    location = location_of(art)
    if location is None:
        return row
    repository = repositories.for_location(location)
    local = repository.local_path(location)
    key = next(iter(location.values())).get("key", "")
    row["repository"] = repository.describe
    row["location"] = str(local) if local is not None else f"{repository.describe} {key}"
    try:
        row["size"] = repository.size(location)
    except UserError:
        row["size"] = None
    return row


def step_results(repositories: Repositories, wf: Workflow) -> list[dict[str, Any]]:
    """One entry per step: parameters, outputs, metrics and artifacts."""
    rows = []
    for node in steps(wf):
        outputs = node.outputs
        rows.append(
            {
                "step": node.display_name,
                "node": node.id,
                "template": node.template_name,
                "phase": node.phase,
                "duration": duration(node.started_at, node.finished_at),
                "parameters": {p.name: p.value for p in node.inputs.parameters}
                if node.inputs
                else {},
                "outputs": {
                    p.name: p.value
                    for p in (outputs.parameters if outputs else [])
                    if p.name != METRICS
                },
                "metrics": metrics_of(node),
                "artifacts": [
                    artifact_row(repositories, a) for a in (outputs.artifacts if outputs else [])
                ],
            }
        )
    return rows


def report(repositories: Repositories, wf: Workflow) -> dict[str, Any]:
    """`trainyard results -o json`: the workflow, its phase, and each step's results."""
    return {
        "workflow": wf.metadata.name,
        "namespace": wf.metadata.namespace,
        "phase": wf.status.phase if wf.status else None,
        "steps": step_results(repositories, wf),
    }


def find_artifact(wf: Workflow, step: str, artifact: str) -> Artifact:
    """The output artifact `artifact` of the step named `step` (display name, name or id)."""
    nodes = [n for n in steps(wf) if step in (n.display_name, n.name, n.id)]
    if not nodes:
        names = ", ".join(n.display_name for n in steps(wf)) or "none"
        raise NotFoundError(f"workflow {wf.metadata.name!r} has no step {step!r}; steps: {names}")
    outputs = nodes[-1].outputs
    found = [a for a in (outputs.artifacts if outputs else []) if a.name == artifact]
    if not found:
        names = ", ".join(a.name for a in (outputs.artifacts if outputs else [])) or "none"
        raise NotFoundError(f"step {step!r} has no artifact {artifact!r}; artifacts: {names}")
    return found[0]
