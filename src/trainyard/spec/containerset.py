"""Check each containerSet template: container names, their dependencies, cycles, `main`."""

from __future__ import annotations

from collections.abc import Iterator

from trainyard.core.errors import Problem
from trainyard.spec.dag import find_cycles
from trainyard.spec.models import Template
from trainyard.spec.models.containerset import MAIN, ContainerSetTemplate
from trainyard.spec.source import JsonPath
from trainyard.spec.suggest import did_you_mean, known
from trainyard.spec.view import SpecView

# Names of the containers Argo adds to every pod.
RESERVED = ("init", "wait", "supervisor")


def container_set_problems(view: SpecView) -> Iterator[Problem]:
    """Problems of every containerSet template of the spec, inline ones included."""
    for tmpl, path in view.indexed_templates():
        if tmpl.container_set is not None:
            yield from _one_set(view, tmpl, tmpl.container_set, (*path, "containerSet"))


def _one_set(
    view: SpecView, tmpl: Template, cset: ContainerSetTemplate, path: JsonPath
) -> Iterator[Problem]:
    base = (*path, "containers")
    if not cset.containers:
        yield view.problem(
            f"containerSet of template '{tmpl.name}' has no containers: add at least one", path
        )
        return
    first: dict[str, int] = {}
    for i, name in enumerate(cset.names()):
        where = (*base, i)
        if not name:
            yield view.problem("container has no name: add 'name: ...'", where)
        elif name in first:
            line = view.doc.position((*base, first[name]))[0]
            yield view.problem(
                f"container name '{name}' is used twice in this containerSet "
                f"(first on line {line}): rename one",
                (*where, "name"),
            )
        elif name in RESERVED:
            yield view.problem(
                f"container name '{name}' is reserved for Argo's own containers: rename it",
                (*where, "name"),
            )
        first.setdefault(name, i)
    graph: dict[str, list[str]] = {}
    for i, node in enumerate(cset.containers):
        deps = []
        for j, dep in enumerate(node.dependencies or []):
            if dep in first:
                deps.append(dep)
                continue
            yield view.problem(
                f"container '{node.name}' depends on unknown container '{dep}'; known "
                f"containers: {known(first)}{did_you_mean(dep, first)}",
                (*base, i, "dependencies", j),
            )
        if node.name in first:
            graph.setdefault(node.name, deps)
    for cycle in find_cycles(graph, first):
        yield view.problem(
            "cycle: " + " -> ".join([*cycle, cycle[0]]) + ": remove one of these dependencies",
            (*base, first[cycle[0]], "dependencies"),
        )
    yield from _main_problems(view, tmpl, cset, path)


def _main_problems(
    view: SpecView, tmpl: Template, cset: ContainerSetTemplate, path: JsonPath
) -> Iterator[Problem]:
    """Argo saves inputs and outputs from the container named `main` only."""
    inputs = tmpl.inputs.artifacts if tmpl.inputs else []
    outputs = tmpl.outputs
    has_io = bool(inputs) or bool(outputs and (outputs.parameters or outputs.artifacts))
    if has_io and cset.container(MAIN) is None:
        yield view.problem(
            f"template '{tmpl.name}' has input artifacts or outputs, so its containerSet "
            f"needs a container named '{MAIN}' (Argo loads and saves them with it)",
            (*path, "containers"),
        )
