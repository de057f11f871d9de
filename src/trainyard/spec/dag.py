"""Check the task graph of each DAG template: names, dependencies, `depends` and cycles."""

from __future__ import annotations

from collections.abc import Iterator

from trainyard.core.errors import ExpressionError, Problem
from trainyard.spec.depends import dependency_names, parse_depends
from trainyard.spec.models import DAGTask, Template
from trainyard.spec.source import JsonPath
from trainyard.spec.suggest import did_you_mean, known
from trainyard.spec.view import SpecView


def dag_problems(view: SpecView) -> Iterator[Problem]:
    """Problems of every DAG template of the spec, inline ones included."""
    for tmpl, path in view.indexed_templates():
        if tmpl.dag is not None:
            yield from _one_dag(view, tmpl, path)


def _one_dag(view: SpecView, tmpl: Template, path: JsonPath) -> Iterator[Problem]:
    tasks = tmpl.dag.tasks if tmpl.dag else []
    base = (*path, "dag", "tasks")
    names = [task.name for task in tasks]
    first: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in first:
            line = view.doc.position((*base, first[name]))[0]
            yield view.problem(
                f"task name '{name}' is used twice in this DAG (first on line {line}): rename one",
                (*base, i, "name"),
            )
        first.setdefault(name, i)
    graph: dict[str, list[str]] = {}
    for i, task in enumerate(tasks):
        deps, problems = _dependencies(view, task, (*base, i), first)
        yield from problems
        graph.setdefault(task.name, deps)
    yield from _mixed_styles(view, tasks, base)
    yield from _target_problems(view, tmpl, path, first)
    yield from _cycles(view, graph, first, base, tasks)


def _dependencies(
    view: SpecView, task: DAGTask, path: JsonPath, known_tasks: dict[str, int]
) -> tuple[list[str], list[Problem]]:
    """The known tasks `task` waits for, and the problems of how it names them."""
    problems: list[Problem] = []
    named: list[tuple[str, JsonPath]] = []
    if task.depends is not None and task.dependencies is not None:
        problems.append(
            view.problem(
                f"task '{task.name}' has both 'depends' and 'dependencies': keep only 'depends' "
                "(write 'dependencies: [a, b]' as 'depends: a && b')",
                (*path, "dependencies"),
            )
        )
    for j, dep in enumerate(task.dependencies or []):
        named.append((dep, (*path, "dependencies", j)))
    if task.depends is not None:
        try:
            names = dependency_names(parse_depends(task.depends))
        except ExpressionError as err:
            problems.append(
                view.problem(
                    f"cannot parse 'depends' of task '{task.name}': {err}", (*path, "depends")
                )
            )
        else:
            named.extend((name, (*path, "depends")) for name in sorted(names))
    deps: list[str] = []
    for name, where in named:
        if name in known_tasks:
            deps.append(name)
        else:
            problems.append(
                view.problem(
                    f"task '{task.name}' depends on unknown task '{name}'; known tasks: "
                    f"{known(known_tasks)}{did_you_mean(name, known_tasks)}",
                    where,
                )
            )
    return deps, problems


def _mixed_styles(view: SpecView, tasks: list[DAGTask], base: JsonPath) -> Iterator[Problem]:
    """Argo refuses a DAG whose tasks use `depends` and others `dependencies`."""
    uses_depends = [t.name for t in tasks if t.depends is not None]
    uses_dependencies = [i for i, t in enumerate(tasks) if t.dependencies is not None]
    if any(t.depends is not None and t.dependencies is not None for t in tasks):
        return  # already reported on the task that has both
    if uses_depends and uses_dependencies:
        i = uses_dependencies[0]
        yield view.problem(
            f"task '{tasks[i].name}' uses 'dependencies' but task '{uses_depends[0]}' uses "
            "'depends': Argo accepts one style per DAG; write 'dependencies: [a, b]' as "
            "'depends: a && b'",
            (*base, i, "dependencies"),
        )


def _target_problems(
    view: SpecView, tmpl: Template, path: JsonPath, known_tasks: dict[str, int]
) -> Iterator[Problem]:
    target = tmpl.dag.target if tmpl.dag else None
    if target is None or "{{" in target:
        return  # a target given by a parameter is known only at run time
    for name in target.split():
        if name not in known_tasks:
            yield view.problem(
                f"target '{name}' names no task of this DAG; known tasks: {known(known_tasks)}"
                + did_you_mean(name, known_tasks),
                (*path, "dag", "target"),
            )


def _cycles(
    view: SpecView,
    graph: dict[str, list[str]],
    order: dict[str, int],
    base: JsonPath,
    tasks: list[DAGTask],
) -> Iterator[Problem]:
    """One problem per dependency cycle, at the cycle's first task in the document."""
    for cycle in find_cycles(graph, order):
        start = cycle[0]
        task = tasks[order[start]]
        key = "depends" if task.depends is not None else "dependencies"
        yield view.problem(
            "cycle: " + " -> ".join([*cycle, start]) + ": remove one of these dependencies",
            (*base, order[start], key),
        )


def find_cycles(graph: dict[str, list[str]], order: dict[str, int]) -> list[list[str]]:
    """Each distinct cycle of `graph` (task -> tasks it waits for), from its earliest task."""
    found: dict[frozenset[str], list[str]] = {}
    done: set[str] = set()
    for root in sorted(graph, key=order.__getitem__):
        if root in done:
            continue
        path: list[str] = [root]  # depth-first, without recursion: chains can be long
        on_path = {root}
        pending = [iter(graph.get(root, []))]
        while pending:
            dep = next(pending[-1], None)
            if dep is None:
                pending.pop()
                done.add(path[-1])
                on_path.discard(path.pop())
            elif dep in on_path:
                cycle = path[path.index(dep) :]
                first = min(range(len(cycle)), key=lambda k: order[cycle[k]])
                found.setdefault(frozenset(cycle), cycle[first:] + cycle[:first])
            elif dep not in done:
                path.append(dep)
                on_path.add(dep)
                pending.append(iter(graph.get(dep, [])))
    return sorted(found.values(), key=lambda c: order[c[0]])
