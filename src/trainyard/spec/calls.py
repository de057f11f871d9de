"""Check what each step, task, hook and exit handler passes to the template it calls."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from trainyard.core.errors import ExpressionError, Problem
from trainyard.spec import govaluate
from trainyard.spec.models import Arguments, Parameter, Template
from trainyard.spec.models.template import _Invocation
from trainyard.spec.source import JsonPath
from trainyard.spec.suggest import did_you_mean, known
from trainyard.spec.view import Call, SpecView

TAG = re.compile(r"\{\{.*?\}\}", re.DOTALL)
"""A `{{...}}` tag, substituted before an expression is evaluated."""


def call_problems(view: SpecView, supplied: Iterable[str]) -> Iterator[Problem]:
    """Problems of every call in the spec; `supplied` are the workflow's parameter names."""
    workflow_names = set(supplied)
    for call in view.calls():
        node = call.invocation
        if isinstance(node, _Invocation):
            yield from _when_problems(view, node.when, call)
        if node is not None and node.template_ref is not None:
            continue  # resolved from another document at run time: see lint_notes
        if isinstance(node, _Invocation) and node.inline is not None:
            yield from argument_problems(view, call, node.inline)
            continue
        if call.template is None:
            yield view.problem(
                f"{call.what} names no template: add 'template:' or 'templateRef:'", call.path
            )
            continue
        target = view.templates.get(call.template)
        if target is None:
            yield view.unknown_template(call.template, call.template_path)
        elif call.values_from == "workflow":
            if not view.is_library:
                yield from required_problems(view, call, target, workflow_names)
        else:
            yield from argument_problems(view, call, target)


def argument_problems(view: SpecView, call: Call, target: Template) -> Iterator[Problem]:
    """Arguments of `call` that `target` does not take, lacks, or does not allow."""
    arguments = _arguments(call)
    base = (*call.path, "arguments")
    inputs = {p.name: p for p in target.inputs.parameters} if target.inputs else {}
    artifacts = {a.name for a in target.inputs.artifacts} if target.inputs else set()
    for i, arg in enumerate(arguments.parameters):
        path = (*base, "parameters", i)
        declared = inputs.get(arg.name)
        if declared is None:
            # Argo passes it to nobody and runs the workflow: a note, not an error.
            yield view.problem(
                f"{_label(target)} has no input parameter '{arg.name}', so the argument is "
                f"ignored; its input parameters: {known(inputs)}"
                f"{did_you_mean(arg.name, inputs)}",
                path,
                "note",
            )
        else:
            yield from enum_problems(view, arg.value, declared, (*path, "value"), _label(target))
    for i, art in enumerate(arguments.artifacts):
        if art.name not in artifacts:
            yield view.problem(
                f"{_label(target)} has no input artifact '{art.name}'; its input artifacts: "
                f"{known(artifacts)}{did_you_mean(art.name, artifacts)}",
                (*base, "artifacts", i),
            )
    passed = {p.name for p in arguments.parameters}
    yield from required_problems(view, call, target, passed)


def required_problems(
    view: SpecView, call: Call, target: Template, passed: set[str]
) -> Iterator[Problem]:
    """Input parameters of `target` with no value of their own that `call` does not pass."""
    for param in target.inputs.parameters if target.inputs else []:
        if param.name in passed or has_value(param):
            continue
        if call.values_from == "workflow":
            fix = f"add it to spec.arguments.parameters or pass -p {param.name}=VALUE"
        elif call.values_from == "nowhere":
            fix = "onExit cannot pass arguments: use 'hooks: {exit: {template, arguments}}'"
        else:
            fix = "add it to arguments.parameters"
        yield view.problem(
            f"{call.what} does not pass input parameter '{param.name}' that "
            f"{_label(target)} requires: {fix}",
            call.path,
        )


def enum_problems(
    view: SpecView, value: str | None, declared: Parameter, path: JsonPath, owner: str
) -> Iterator[Problem]:
    """A literal `value` for `declared` that is not one of its enum values."""
    if value is None or "{{" in value or not declared.enum or value in declared.enum:
        return
    yield view.problem(
        f"value '{value}' of parameter '{declared.name}' is not one of "
        f"{', '.join(declared.enum)} (the values {owner} allows)",
        path,
    )


def has_value(param: Parameter) -> bool:
    """Whether an input parameter has a value without being passed one."""
    return param.value is not None or param.default is not None or param.value_from is not None


def parse_when(text: str) -> None:
    """Parse a `when` condition as Argo does after substitution; raises ExpressionError."""
    govaluate.parse(TAG.sub("x", text))


def _when_problems(view: SpecView, when: str | None, call: Call) -> Iterator[Problem]:
    if not (when or "").strip():
        return  # an empty condition is true
    try:
        parse_when(when or "")
    except ExpressionError as err:
        yield view.problem(
            f"cannot parse 'when' of {call.what}: {err}",
            (*call.path, "when"),
        )


def _arguments(call: Call) -> Arguments:
    node = call.invocation
    if node is None or node.arguments is None:
        return Arguments()
    return node.arguments


def _label(tmpl: Template) -> str:
    return f"template '{tmpl.name}'" if tmpl.name else "the inline template"
