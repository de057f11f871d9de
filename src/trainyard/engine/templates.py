"""Find the template a step names, apply templateDefaults, bind arguments to inputs, substitute."""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

from trainyard.engine.run import NodeError, Run
from trainyard.spec.models import Arguments, Artifact, Inputs, Parameter, Template
from trainyard.spec.models.template import _Invocation
from trainyard.spec.variables import substitute, substitute_tree


def resolve(run: Run, invocation: _Invocation) -> Template:
    """The template `invocation` runs, with the workflow's templateDefaults merged in."""
    if invocation.inline is not None:
        tmpl = invocation.inline
    elif invocation.template_ref is not None:
        ref = invocation.template_ref
        raise NodeError(
            f"templateRef {ref.name}/{ref.template} needs stored WorkflowTemplates, "
            "which the local engine does not have yet; inline the template instead"
        )
    else:
        name = invocation.template or ""
        found = run.spec.template(name)
        if found is None:
            raise NodeError(f"template {name!r} not found")
        tmpl = found
    return with_defaults(run, tmpl)


def with_defaults(run: Run, tmpl: Template) -> Template:
    """`tmpl` on top of `spec.templateDefaults` (the template's own fields win)."""
    defaults = run.spec.template_defaults
    if defaults is None:
        return tmpl
    merged = _deep_merge(defaults.dump(), tmpl.dump())
    return Template.model_validate(merged)


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def bind_inputs(tmpl: Template, args: Arguments | None) -> Inputs:
    """The template's inputs with values from `args`, defaults and literal values."""
    declared = tmpl.inputs or Inputs()
    arg_params = {p.name: p for p in (args.parameters if args else [])}
    arg_arts = {a.name: a for a in (args.artifacts if args else [])}
    params = [_bind_parameter(p, arg_params.get(p.name)) for p in declared.parameters]
    artifacts: list[Artifact] = []
    for art in declared.artifacts:
        bound = _bind_artifact(art, arg_arts.get(art.name))
        if bound is not None:
            artifacts.append(bound)
    return Inputs(parameters=params, artifacts=artifacts)


def _bind_parameter(param: Parameter, arg: Parameter | None) -> Parameter:
    value = param.value
    if value is None:
        value = param.default
    if arg is not None and arg.value is not None:
        value = arg.value
    if value is None:
        raise NodeError(f"inputs.parameters.{param.name} was not supplied")
    if param.enum and value not in param.enum:
        allowed = ", ".join(param.enum)
        raise NodeError(
            f"value {value!r} of inputs.parameters.{param.name} is not one of: {allowed}"
        )
    return param.model_copy(update={"value": value})


def _bind_artifact(art: Artifact, arg: Artifact | None) -> Artifact | None:
    if arg is not None and arg.has_location():
        fields = arg.model_dump(exclude_none=True)
        fields.update(name=art.name, path=art.path, mode=art.mode, optional=art.optional)
        for key in ("from_", "from_expression", "global_name"):
            fields.pop(key, None)
        return Artifact.model_validate(fields)
    if art.has_location():
        return art
    if art.optional:
        return None
    raise NodeError(f"inputs.artifacts.{art.name} was not supplied")


_PROCESSED: OrderedDict[tuple[object, ...], Template] = OrderedDict()
_PROCESSED_MAX = 4096


def processed_template(
    workflow_uid: str, node_name: str, tmpl: Template, inputs: Inputs, values: dict[str, str]
) -> Template:
    """`substitute_template`, remembered across ticks.

    The result depends only on the template, the inputs and the values, which are all in the
    key; this keeps a running DAG of hundreds of tasks cheap to re-visit on every tick.
    """
    key = (
        workflow_uid,
        node_name,
        tmpl.model_dump_json(),
        inputs.model_dump_json(),
        hash(frozenset(values.items())),
    )
    found = _PROCESSED.get(key)
    if found is not None:
        _PROCESSED.move_to_end(key)
        return found
    result, _ = substitute_template(tmpl, inputs, values)
    _PROCESSED[key] = result
    if len(_PROCESSED) > _PROCESSED_MAX:
        _PROCESSED.popitem(last=False)
    return result


def substitute_template(
    tmpl: Template, inputs: Inputs, values: dict[str, str]
) -> tuple[Template, dict[str, str]]:
    """`tmpl` with its bound inputs and every known `{{...}}` filled in.

    Returns the template and the variables used (for nested scopes). Unknown variables are
    left as written; steps/dag templates resolve `steps.*`/`tasks.*` later, per group.
    """
    data = tmpl.model_dump(by_alias=True, exclude_none=True)
    data["inputs"] = inputs.model_dump(by_alias=True, exclude_none=True)
    first = substitute_tree(data, values)
    scope = dict(values)
    params = Inputs.model_validate(first.get("inputs") or {}).parameters
    for param in params:
        scope[f"inputs.parameters.{param.name}"] = param.value or ""
    _settle_inputs(scope, [f"inputs.parameters.{p.name}" for p in params])
    scope["inputs.parameters"] = json.dumps(
        [p.dump() for p in inputs.parameters], separators=(",", ":")
    )
    for art in inputs.artifacts:
        if art.path:
            scope[f"inputs.artifacts.{art.name}.path"] = art.path
    outputs = first.get("outputs") or {}
    for art in outputs.get("artifacts") or []:
        if art.get("path"):
            scope[f"outputs.artifacts.{art['name']}.path"] = art["path"]
    for param in outputs.get("parameters") or []:
        path = (param.get("valueFrom") or {}).get("path")
        if path:
            scope[f"outputs.parameters.{param['name']}.path"] = path
    final = substitute_tree(first, scope)
    return Template.model_validate(final), scope


def _settle_inputs(scope: dict[str, str], keys: list[str]) -> None:
    """Resolve input values that use other inputs (`{{= ... inputs.parameters.x ...}}`)."""
    for _ in keys:
        changed = False
        for key in keys:
            if "{{" in scope[key]:
                value = substitute(scope[key], scope)
                changed = changed or value != scope[key]
                scope[key] = value
        if not changed:
            return
