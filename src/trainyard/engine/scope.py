"""Variables a template can read: outputs of earlier steps/tasks, aggregated loop outputs."""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from trainyard.engine.run import NodeError, Run
from trainyard.spec.expr import evaluate, nested_env, render
from trainyard.spec.models import Arguments, Artifact, NodeStatus, Parameter
from trainyard.spec.models.template import _Invocation
from trainyard.spec.variables import MissingVariable, find_tags, substitute_tree

_LOOP_INDEX = re.compile(r"\((\d+)(?::[^()]*)?\)$")
_TAG = re.compile(r"^\s*\{\{\s*(.+?)\s*\}\}\s*$")


@dataclass
class Scope:
    """String variables by full name, plus artifacts addressable with `from:`."""

    values: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, Artifact] = field(default_factory=dict)
    # Output parameters of skipped nodes that have no default: an argument naming one is
    # left out, so the input's own default applies (as in Argo).
    omitted: set[str] = field(default_factory=set)

    def merged(self, base: dict[str, str]) -> dict[str, str]:
        """`base` overlaid with this scope's values."""
        if not self.values:
            return base
        return {**base, **self.values}


def template_scope(run: Run) -> Scope:
    """A steps/DAG template's scope before any child ran: the workflow's global artifacts."""
    artifacts = {f"workflow.outputs.artifacts.{k}": a for k, a in run.global_artifacts.items()}
    return Scope(artifacts=artifacts)


def last_attempt(run: Run, node: NodeStatus) -> NodeStatus:
    """For a Retry node, its latest attempt (whose outputs count); else the node itself."""
    if node.type == "Retry":
        attempts = attempts_of(run, node)
        if attempts:
            return attempts[-1]
    return node


def attempts_of(run: Run, node: NodeStatus) -> list[NodeStatus]:
    """The attempts of a Retry node, oldest first (its exit hooks left out)."""
    found = (run.by_id(c) for c in node.children or [])
    return [c for c in found if (c.node_flag or {}).get("retried")]


def add_node(run: Run, scope: Scope, prefix: str, name: str, node: NodeStatus) -> None:
    """Expose `node` as `<prefix>.<name>.*` (prefix "steps" or "tasks")."""
    node = last_attempt(run, node)
    base = f"{prefix}.{name}"
    values = scope.values
    values[f"{base}.id"] = node.id
    values[f"{base}.status"] = node.phase
    if node.started_at:
        values[f"{base}.startedAt"] = node.started_at
    if node.finished_at:
        values[f"{base}.finishedAt"] = node.finished_at
    if node.host_node_name:
        values[f"{base}.hostNodeName"] = node.host_node_name
    if node.pod_ip:
        values[f"{base}.ip"] = node.pod_ip
    outputs = node.outputs
    if outputs is None:
        if node.phase in ("Skipped", "Omitted"):
            _skipped_outputs(run, scope, base, node)
        return
    if outputs.result is not None:
        values[f"{base}.outputs.result"] = outputs.result
    if outputs.exit_code is not None:
        values[f"{base}.exitCode"] = outputs.exit_code
        values[f"{base}.outputs.exitCode"] = outputs.exit_code
    for param in outputs.parameters:
        if param.value is not None:
            values[f"{base}.outputs.parameters.{param.name}"] = param.value
    for art in outputs.artifacts:
        scope.artifacts[f"{base}.outputs.artifacts.{art.name}"] = art


def _skipped_outputs(run: Run, scope: Scope, base: str, node: NodeStatus) -> None:
    """A skipped node's output parameters: their `valueFrom.default`, else omitted."""
    tmpl = run.spec.template(node.template_name) if node.template_name else None
    for param in tmpl.outputs.parameters if tmpl is not None and tmpl.outputs else []:
        name = f"{base}.outputs.parameters.{param.name}"
        default = param.value_from.default if param.value_from is not None else None
        if default is not None:
            scope.values[name] = str(default)
        else:
            scope.omitted.add(name)


def add_aggregate(
    run: Run, scope: Scope, prefix: str, name: str, children: list[NodeStatus]
) -> None:
    """Expose a loop's outputs as JSON lists: `<prefix>.<name>.outputs.parameters[.P]|result`."""
    ordered = sorted(
        (c for c in children if not _hooked_or_retried(c)),
        key=_loop_index,
    )
    param_maps: list[dict[str, str]] = []
    by_name: dict[str, list[str]] = {}
    results: list[object] = []
    for item in ordered:
        child = last_attempt(run, item)
        if child.outputs is None or child.phase != "Succeeded":
            continue
        if child.outputs.parameters:
            entry = {p.name: p.value or "" for p in child.outputs.parameters}
            param_maps.append(entry)
            for key, value in entry.items():
                by_name.setdefault(key, []).append(value)
        if child.outputs.result is not None:
            results.append(_json_or_text(child.outputs.result))
    base = f"{prefix}.{name}.outputs"
    scope.values[f"{base}.result"] = json.dumps(results, separators=(",", ":"))
    scope.values[f"{base}.parameters"] = json.dumps(param_maps, separators=(",", ":"))
    for key, values in by_name.items():
        scope.values[f"{base}.parameters.{key}"] = _aggregate_values(values)


def _hooked_or_retried(node: NodeStatus) -> bool:
    flag = node.node_flag or {}
    return bool(flag.get("hooked") or flag.get("retried"))


def _loop_index(node: NodeStatus) -> int:
    match = _LOOP_INDEX.search(node.name)
    return int(match.group(1)) if match else 0


def _json_or_text(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _aggregate_values(values: list[str]) -> str:
    """A JSON list of the values; JSON objects/lists are embedded, anything else as strings."""
    parsed: list[object] = []
    for value in values:
        item = _json_or_text(value)
        if not isinstance(item, dict | list):
            return json.dumps(values, separators=(",", ":"))
        parsed.append(item)
    return json.dumps(parsed, separators=(",", ":"))


def resolve_artifact(scope: Scope, inputs: dict[str, Artifact], reference: str) -> Artifact:
    """The artifact a `from: "{{...}}"` names (steps/tasks outputs, inputs, workflow outputs)."""
    match = _TAG.match(reference)
    if match is None:
        raise NodeError(f"artifact reference {reference!r} must be a single {{{{...}}}} tag")
    key = match.group(1)
    if key in scope.artifacts:
        return scope.artifacts[key]
    if key.startswith("inputs.artifacts."):
        name = key[len("inputs.artifacts.") :]
        if name in inputs:
            return inputs[name]
    raise NodeError(f"Unable to resolve: {reference}: no such artifact in scope")


def as_argument(found: Artifact, arg: Artifact) -> Artifact:
    """The artifact `found` through `arg.from_`, passed on as `arg`: named like it, and with
    its subPath joined to the stored key (Argo's AppendToKey)."""
    update: dict[str, object] = {"name": arg.name, "from_": None, "from_expression": None}
    sub = arg.sub_path
    key = found.local.key if found.local is not None else str((found.s3 or {}).get("key") or "")
    if not sub:
        pass
    elif not key or (found.archive is None and key.endswith(".tgz")):
        update["sub_path"] = sub  # inside an archive: taken out when the step's inputs are staged
    elif found.local is not None:
        update["local"] = found.local.model_copy(update={"key": posixpath.join(key, sub)})
    else:
        update["s3"] = {**(found.s3 or {}), "key": posixpath.join(key, sub)}
    return found.model_copy(update=update)


def lookup_from(art: Artifact, scope: Scope, inputs: dict[str, Artifact]) -> Artifact | None:
    """The artifact `art.from_` names; None when `art` is optional and nothing is there."""
    assert art.from_ is not None
    try:
        return resolve_artifact(scope, inputs, art.from_)
    except NodeError:
        if art.optional:
            return None
        raise


def expression_value(expression: str, values: Mapping[str, str]) -> str:
    """The text of a `valueFrom.expression` evaluated over `values` (as nested maps)."""
    return render(evaluate(expression, nested_env(values)))


def artifact_from_expression(
    expression: str, scope: Scope, inputs: dict[str, Artifact], values: Mapping[str, str]
) -> Artifact:
    """The artifact a `fromExpression` picks, e.g. `cond ? tasks.a.outputs.artifacts.x : ...`."""
    names: dict[str, Any] = dict(values)
    names.update(scope.artifacts)
    names.update({f"inputs.artifacts.{name}": art for name, art in inputs.items()})
    found = evaluate(expression, nested_env(names))
    if not isinstance(found, Artifact):
        raise NodeError(f"fromExpression '{expression}' does not name an artifact")
    return found


def resolve_arguments(
    args: Arguments | None,
    scope: Scope,
    inputs: dict[str, Artifact],
    values: Mapping[str, str] | None = None,
) -> Arguments | None:
    """`args` with every `from:`/`fromExpression` artifact replaced by the artifact it names,
    and every `valueFrom.expression` parameter by its value."""
    if args is None:
        return args
    params = [_argument_parameter(p, values or {}) for p in args.parameters]
    if not any(a.from_ is not None or a.from_expression for a in args.artifacts):
        if all(new is old for new, old in zip(params, args.parameters, strict=True)):
            return args
        return args.model_copy(update={"parameters": params})
    resolved = []
    for art in args.artifacts:
        found: Artifact | None = art
        if art.from_expression:
            found = artifact_from_expression(art.from_expression, scope, inputs, values or {})
        elif art.from_ is not None:
            found = lookup_from(art, scope, inputs)
        if found is not None:
            resolved.append(found if found is art else as_argument(found, art))
    return args.model_copy(update={"artifacts": resolved, "parameters": params})


def _argument_parameter(param: Parameter, values: Mapping[str, str]) -> Parameter:
    source = param.value_from
    if source is None or not source.expression or param.value is not None:
        return param
    value = expression_value(source.expression, values)
    return param.model_copy(update={"value": value, "value_from": None})


Invocation = TypeVar("Invocation", bound=_Invocation)


def resolve_invocation(
    invocation: Invocation,
    values: dict[str, str],
    strict: tuple[str, ...],
    scope: Scope,
    inputs: dict[str, Artifact],
) -> Invocation:
    """A step or task with earlier outputs substituted and its `from:` artifacts looked up.

    Hooks are left as written: they may refer to the step itself, which has no outputs yet.
    """
    body = invocation.model_dump(by_alias=True, exclude_none=True)
    hooks = body.pop("hooks", None)
    if scope.omitted:
        _leave_out_omitted(body, scope.omitted)
    try:
        data = substitute_tree(body, values, strict_prefixes=strict)
    except MissingVariable as exc:
        raise NodeError(str(exc)) from exc
    if hooks is not None:
        data["hooks"] = hooks
    resolved = type(invocation).model_validate(data)
    args = resolve_arguments(resolved.arguments, scope, inputs, values)
    if args is resolved.arguments:
        return resolved
    return resolved.model_copy(update={"arguments": args})


def _leave_out_omitted(body: dict[str, Any], omitted: set[str]) -> None:
    """Drop the value of each argument parameter that names an omitted output."""
    for param in (body.get("arguments") or {}).get("parameters") or []:
        value = param.get("value")
        if isinstance(value, str) and set(find_tags(value)) & omitted:
            del param["value"]
