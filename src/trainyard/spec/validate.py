"""Semantic checks of a schema-valid document: templates, entrypoint, calls, DAGs and references."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from trainyard.core.errors import Problem
from trainyard.spec.calls import call_problems, enum_problems, has_value
from trainyard.spec.containerset import container_set_problems
from trainyard.spec.cron import cron_problems
from trainyard.spec.dag import dag_problems
from trainyard.spec.datatemplate import data_problems
from trainyard.spec.expr.lint import expression_problems
from trainyard.spec.load import LoadedDocument
from trainyard.spec.local import local_engine_problems
from trainyard.spec.models import Parameter, Template
from trainyard.spec.notes import lint_notes
from trainyard.spec.references import reference_problems
from trainyard.spec.source import JsonPath
from trainyard.spec.view import SpecView

__all__ = ["lint_notes", "local_engine_problems", "validate"]

TEMPLATE_TYPES = {
    "container": "container",
    "script": "script",
    "steps": "steps",
    "dag": "dag",
    "suspend": "suspend",
    "resource": "resource",
    "data": "data",
    "http": "http",
    "container_set": "containerSet",
    "plugin": "plugin",
}
"""Template bodies, attribute -> Argo field; a template has exactly one."""


def validate(doc: LoadedDocument, *, parameters: Mapping[str, str] | None = None) -> list[Problem]:
    """Errors of a document that passed the schema; `parameters` are the user's -p values.

    A (Cluster)WorkflowTemplate may leave its workflow parameters without values and refer
    to workflow parameters it does not declare, since whoever submits it supplies them.
    """
    view = SpecView.of(doc)
    given = dict(parameters or {})
    declared = {p.name for p in _workflow_parameters(view)} | set(given)
    problems = [
        *_template_problems(view),
        *_entrypoint_problems(view, declared),
        *_workflow_argument_problems(view, given),
        *_input_problems(view),
        *call_problems(view, declared),
        *dag_problems(view),
        *container_set_problems(view),
        *data_problems(view),
        *reference_problems(view, declared),
        *expression_problems(view.doc),
        *cron_problems(view.doc),
    ]
    return sorted(problems, key=lambda p: (p.line, p.column))


def _template_problems(view: SpecView) -> Iterator[Problem]:
    """Templates without a name, with a name used twice, or with no single body."""
    first: dict[str, int] = {}
    for i, tmpl in enumerate(view.spec.templates):
        path = view.path("templates", i)
        if not tmpl.name:
            yield view.problem("template has no name: add 'name: ...'", path)
        elif tmpl.name in first:
            line = view.doc.position(view.path("templates", first[tmpl.name]))[0]
            yield view.problem(
                f"template name '{tmpl.name}' is used twice (first on line {line}): rename one",
                (*path, "name"),
            )
        first.setdefault(tmpl.name, i)
    for tmpl, path in view.indexed_templates():
        yield from _body_problems(view, tmpl, path)
        if tmpl.steps is not None:
            yield from _step_name_problems(view, tmpl, path)


def _body_problems(view: SpecView, tmpl: Template, path: JsonPath) -> Iterator[Problem]:
    bodies = [field for attr, field in TEMPLATE_TYPES.items() if getattr(tmpl, attr) is not None]
    label = f"template '{tmpl.name}'" if tmpl.name else "the inline template"
    if not bodies:
        choices = ", ".join(f for f in TEMPLATE_TYPES.values() if f != "plugin")
        yield view.problem(f"{label} has nothing to run: give it one of {choices}", path)
    elif len(bodies) > 1:
        listed = ", ".join(bodies[:-1]) + " and " + bodies[-1]
        yield view.problem(f"{label} has {listed}: keep only one", (*path, bodies[1]))


def _step_name_problems(view: SpecView, tmpl: Template, path: JsonPath) -> Iterator[Problem]:
    first: dict[str, JsonPath] = {}
    for g, group in enumerate(tmpl.steps or []):
        for s, step in enumerate(group):
            step_path = (*path, "steps", g, s)
            if not step.name:
                yield view.problem("step has no name: add 'name: ...'", step_path)
            elif step.name in first:
                line = view.doc.position(first[step.name])[0]
                yield view.problem(
                    f"step name '{step.name}' is used twice in template '{tmpl.name}' "
                    f"(first on line {line}): rename one",
                    (*step_path, "name"),
                )
            first.setdefault(step.name, step_path)


def _entrypoint_problems(view: SpecView, declared: set[str]) -> Iterator[Problem]:
    """The entrypoint must exist and get its required inputs from the workflow's parameters."""
    if view.spec.workflow_template_ref is not None:
        return  # the entrypoint may come from the referenced template
    entrypoint = view.spec.entrypoint
    path = view.path("entrypoint")
    if entrypoint is None:
        if not view.is_library:  # a library of templates needs no entrypoint
            yield view.problem(
                f"{'.'.join(map(str, path))} is missing: name the template to start with "
                f"(one of {', '.join(sorted(view.templates)) or 'the templates you add'})",
                view.base,
            )
        return
    target = view.templates.get(entrypoint)
    if target is None:
        yield view.unknown_template(entrypoint, path)
        return
    if view.is_library:
        return
    for param in target.inputs.parameters if target.inputs else []:
        if param.name not in declared and not has_value(param):
            yield view.problem(
                f"template '{entrypoint}' (the entrypoint) needs input parameter "
                f"'{param.name}': add it to spec.arguments.parameters or pass "
                f"-p {param.name}=VALUE",
                path,
            )


def _workflow_argument_problems(view: SpecView, given: Mapping[str, str]) -> Iterator[Problem]:
    """Workflow parameters need a value (unless a library), within their enum, named once."""
    seen: set[str] = set()
    for i, param in enumerate(_workflow_parameters(view)):
        path = view.path("arguments", "parameters", i)
        if param.name in seen:
            yield view.problem(
                f"workflow parameter '{param.name}' is declared twice: remove one", path
            )
        seen.add(param.name)
        value = given.get(param.name, param.value)
        if value is None and param.value_from is None and not view.is_library:
            fix = (
                "give it a 'value:'"
                if view.doc.kind == "CronWorkflow"
                else f"pass -p {param.name}=VALUE"
            )
            yield view.problem(f"workflow parameter '{param.name}' needs a value: {fix}", path)
        where = path if param.name in given else (*path, "value")
        yield from enum_problems(view, value, param, where, "the workflow parameter")


def _input_problems(view: SpecView) -> Iterator[Problem]:
    """Input parameter defaults and values that their own enum does not allow."""
    for tmpl, path in view.indexed_templates():
        for i, param in enumerate(tmpl.inputs.parameters if tmpl.inputs else []):
            where = (*path, "inputs", "parameters", i)
            owner = f"input parameter '{param.name}'"
            yield from enum_problems(view, param.value, param, (*where, "value"), owner)
            yield from enum_problems(view, param.default, param, (*where, "default"), owner)


def _workflow_parameters(view: SpecView) -> list[Parameter]:
    arguments = view.spec.arguments
    return arguments.parameters if arguments else []
