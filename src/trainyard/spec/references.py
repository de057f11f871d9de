"""Check `{{...}}` tags that name inputs, steps, tasks or workflow parameters that do not exist."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from trainyard.core.errors import Problem
from trainyard.spec.models import Template
from trainyard.spec.source import JsonPath
from trainyard.spec.suggest import did_you_mean, known
from trainyard.spec.view import SpecView

SIMPLE_TAG = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
"""A tag as Argo finds them; tags starting with `=` are expressions, which Argo does not check."""


def reference_problems(view: SpecView, workflow_parameters: Iterable[str]) -> Iterator[Problem]:
    """Tags naming what does not exist: inputs of their template, steps, tasks, parameters."""
    for tmpl, path in view.indexed_templates():
        data = view.doc.at(path)
        yield from _template_tags(view, tmpl, data, path)
    if not view.is_library and view.spec.workflow_template_ref is None:
        # a library's templates see their callers' parameters; a ref brings the template's own
        declared = set(workflow_parameters)
        for text, path in strings(view.doc.data, ()):
            if path[:1] == ("status",):
                continue
            for tag in tags(text):
                name = _name_after(tag, "workflow.parameters.")
                if name is not None and name != "json" and name not in declared:
                    yield view.problem(
                        f"{{{{{tag}}}}} names undeclared workflow parameter '{name}'; "
                        f"declared: {known(declared)}{did_you_mean(name, declared)}",
                        path,
                    )


def _template_tags(view: SpecView, tmpl: Template, data: Any, path: JsonPath) -> Iterator[Problem]:
    inputs = {p.name for p in tmpl.inputs.parameters} if tmpl.inputs else set()
    steps = {step.name for group in tmpl.steps or [] for step in group}
    tasks = {task.name for task in tmpl.dag.tasks} if tmpl.dag else set()
    label = f"template '{tmpl.name}'" if tmpl.name else "the inline template"
    for text, where in strings(data, path, skip="inline"):
        for tag in tags(text):
            name = _name_after(tag, "inputs.parameters.")
            if name is not None and name not in inputs:
                yield view.problem(
                    f"{{{{{tag}}}}} names input parameter '{name}', which {label} does not "
                    f"declare; its inputs: {known(inputs)}{did_you_mean(name, inputs)}",
                    where,
                )
            for prefix, names, noun in (("steps.", steps, "step"), ("tasks.", tasks, "task")):
                name = _name_after(tag, prefix)
                if name is not None and name != "name" and name not in names:
                    yield view.problem(
                        f"{{{{{tag}}}}} names {noun} '{name}', which {label} does not have; "
                        f"its {noun}s: {known(names)}{did_you_mean(name, names)}",
                        where,
                    )


def tags(text: str) -> Iterator[str]:
    """The simple (non-expression) tags of `text`, trimmed: `inputs.parameters.x`."""
    for match in SIMPLE_TAG.finditer(text):
        tag = match.group(1)
        if not tag.startswith("="):
            yield tag.strip()


def strings(data: Any, path: JsonPath, skip: str | None = None) -> Iterator[tuple[str, JsonPath]]:
    """Every string value inside `data` with its path; a mapping key `skip` is not entered."""
    if isinstance(data, str):
        yield data, path
    elif isinstance(data, dict):
        for key, value in data.items():
            if key != skip:
                yield from strings(value, (*path, key), skip)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from strings(value, (*path, i), skip)


def _name_after(tag: str, prefix: str) -> str | None:
    """`x` for a tag `prefix` + `x` or `prefix` + `x.more`; None for other tags."""
    if not tag.startswith(prefix):
        return None
    return tag[len(prefix) :].split(".", 1)[0] or None
