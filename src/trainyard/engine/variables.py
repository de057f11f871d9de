"""Workflow-wide variables: `workflow.*` as Argo defines them, computed once per tick."""

from __future__ import annotations

import json
from datetime import datetime

from trainyard.core.clock import format_time, parse_time
from trainyard.engine.run import NodeError
from trainyard.spec.models import NodeStatus, Parameter, Workflow

# strftime letters Argo exposes as workflow.creationTimestamp.<letter> that Python renders alike.
_TIME_LETTERS = "aAbBcdHIjmMpSUwWxXyYZ"


def workflow_parameters(wf: Workflow) -> list[Parameter]:
    """The workflow's arguments with their values; NodeError if one has none."""
    params = []
    for param in wf.spec.arguments.parameters if wf.spec.arguments else []:
        value = param.value if param.value is not None else param.default
        if value is None and param.enum:
            value = param.enum[0]
        if value is None:
            raise NodeError(f"workflow parameter {param.name!r} has no value")
        if param.enum and value not in param.enum:
            raise NodeError(
                f"value {value!r} of workflow parameter {param.name!r} is not one of: "
                + ", ".join(param.enum)
            )
        params.append(param.model_copy(update={"value": value}))
    return params


def global_values(wf: Workflow, now: datetime) -> dict[str, str]:
    """Every `workflow.*` variable a template may use while the workflow runs."""
    meta = wf.metadata
    values: dict[str, str] = {
        "workflow.name": meta.name or "",
        "workflow.namespace": meta.namespace or "default",
        "workflow.uid": meta.uid or "",
        "workflow.mainEntrypoint": wf.spec.entrypoint or "",
        "workflow.priority": str(wf.spec.priority or 0),
        "workflow.serviceAccountName": str(getattr(wf.spec, "service_account_name", "") or ""),
    }
    created = parse_time(meta.creation_timestamp) if meta.creation_timestamp else now
    values["workflow.creationTimestamp"] = format_time(created)
    values["workflow.creationTimestamp.RFC3339"] = format_time(created)
    values["workflow.creationTimestamp.s"] = str(int(created.timestamp()))
    for letter in _TIME_LETTERS:
        values[f"workflow.creationTimestamp.{letter}"] = created.strftime("%" + letter)
    for kind, mapping in (("labels", meta.labels), ("annotations", meta.annotations)):
        values[f"workflow.{kind}"] = json.dumps(mapping or {}, separators=(",", ":"))
        values[f"workflow.{kind}.json"] = values[f"workflow.{kind}"]
        for key, value in (mapping or {}).items():
            values[f"workflow.{kind}.{key}"] = value
    params = workflow_parameters(wf)
    for param in params:
        values[f"workflow.parameters.{param.name}"] = param.value or ""
    values["workflow.parameters"] = json.dumps([p.dump() for p in params], separators=(",", ":"))
    outputs = wf.status.outputs if wf.status else None
    for out in outputs.parameters if outputs else []:
        values[f"workflow.outputs.parameters.{out.name}"] = out.value or ""
    return values


def duration(wf: Workflow, now: datetime) -> str:
    """`workflow.duration`: seconds since the workflow started (for exit handlers)."""
    started = wf.status.started_at if wf.status else None
    return str((now - parse_time(started)).total_seconds()) if started else "0"


def failures(nodes: dict[str, NodeStatus], workflow_name: str) -> str:
    """`workflow.failures`: a JSON list describing every Failed or Errored node."""
    out = []
    for node in nodes.values():
        if node.phase in ("Failed", "Error"):
            out.append(
                {
                    "displayName": node.display_name,
                    "message": node.message or "",
                    "templateName": node.template_name or "",
                    "phase": node.phase,
                    "podName": node.id,
                    "finishedAt": node.finished_at or "",
                }
            )
    return json.dumps(out, separators=(",", ":"))
