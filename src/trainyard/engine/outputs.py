"""Outputs of steps and DAG templates, taken from their children's outputs, and global outputs."""

from __future__ import annotations

from trainyard.engine.run import NodeError, Run
from trainyard.engine.scope import Scope, artifact_from_expression, expression_value, lookup_from
from trainyard.spec.models import Artifact, Outputs, Parameter, Template
from trainyard.spec.variables import substitute


def template_outputs(
    run: Run, tmpl: Template, scope: Scope, inputs: dict[str, Artifact]
) -> Outputs | None:
    """The declared outputs of a steps/dag template, resolved from `scope`."""
    declared = tmpl.outputs
    if declared is None or (not declared.parameters and not declared.artifacts):
        return None
    values = scope.merged(run.globals)
    params = [_output_parameter(p, values) for p in declared.parameters]
    artifacts: list[Artifact] = []
    for art in declared.artifacts:
        found = None
        if art.from_expression:
            found = artifact_from_expression(art.from_expression, scope, inputs, values)
        elif art.from_ is not None:
            found = lookup_from(art, scope, inputs)
        if found is None:
            continue
        artifacts.append(
            found.model_copy(update={"name": art.name, "global_name": art.global_name})
        )
    outputs = Outputs(parameters=params, artifacts=artifacts)
    export_globals(run, outputs)
    return outputs


def _output_parameter(param: Parameter, values: dict[str, str]) -> Parameter:
    source = param.value_from
    if source is not None and source.expression:
        value = expression_value(source.expression, values)
        return Parameter(name=param.name, value=value, global_name=param.global_name)
    if source is None or source.parameter is None:
        if param.value is not None:
            return param
        raise NodeError(f"output parameter {param.name!r} needs valueFrom.parameter")
    text = substitute(source.parameter, values)
    if "{{" in text:
        if source.default is None:
            raise NodeError(f"output parameter {param.name!r}: cannot resolve {source.parameter}")
        text = source.default
    return Parameter(name=param.name, value=text, global_name=param.global_name)


def export_globals(run: Run, outputs: Outputs | None) -> None:
    """Make outputs with a globalName visible as workflow.outputs.* and in the status."""
    if outputs is None:
        return
    for param in outputs.parameters:
        if param.global_name and param.value is not None:
            run.globals[f"workflow.outputs.parameters.{param.global_name}"] = param.value
            run.global_outputs[param.global_name] = Parameter(
                name=param.global_name, value=param.value
            )
    for art in outputs.artifacts:
        if art.global_name:
            run.global_artifacts[art.global_name] = art.model_copy(update={"name": art.global_name})
