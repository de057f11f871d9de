"""DAG templates: tasks start as their `depends` allow; the DAG phase comes from its targets."""

from __future__ import annotations

from dataclasses import dataclass, field

from trainyard.core.errors import ExpressionError
from trainyard.engine import hooks, loops
from trainyard.engine.dag_phase import assess
from trainyard.engine.outbound import outbound_nodes
from trainyard.engine.outputs import template_outputs
from trainyard.engine.run import ExecuteFn, NodeError, Opts, ParallelismReached, Run
from trainyard.engine.scope import (
    Scope,
    add_aggregate,
    add_node,
    resolve_invocation,
    template_scope,
)
from trainyard.spec.depends import (
    DependsExpr,
    TaskResults,
    dependency_names,
    evaluate_depends,
    from_dependencies,
    parse_depends,
)
from trainyard.spec.govaluate import evaluate_when
from trainyard.spec.models import Artifact, DAGTask, NodeStatus, Template

STRICT = ("tasks.",)


@dataclass
class Dag:
    """What one pass over a DAG template needs to know."""

    run: Run
    name: str
    boundary_id: str
    tmpl: Template
    opts: Opts
    execute: ExecuteFn
    tasks: dict[str, DAGTask]
    inputs: dict[str, Artifact]
    visited: set[str] = field(default_factory=set)
    logic: dict[str, DependsExpr | None] = field(default_factory=dict)
    deps: dict[str, list[str]] = field(default_factory=dict)

    def node_name(self, task: str) -> str:
        """The node name of task `task`."""
        return f"{self.name}.{task}"

    def task_node(self, task: str) -> NodeStatus | None:
        """The node of task `task`, if it was created."""
        return self.run.get(self.node_name(task))

    def depends(self, task: str) -> DependsExpr | None:
        """The parsed `depends` (or `dependencies`) of `task`; None when it has none."""
        if task not in self.logic:
            spec = self.tasks[task]
            if spec.depends:
                self.logic[task] = parse_depends(spec.depends)
            elif spec.dependencies:
                self.logic[task] = from_dependencies(list(spec.dependencies))
            else:
                self.logic[task] = None
        return self.logic[task]

    def dependencies(self, task: str) -> list[str]:
        """Names of the tasks `task` depends on, sorted."""
        if task not in self.deps:
            expr = self.depends(task)
            self.deps[task] = sorted(dependency_names(expr)) if expr is not None else []
        return self.deps[task]


def execute_dag(
    run: Run, node_name: str, tmpl: Template, opts: Opts, execute: ExecuteFn
) -> NodeStatus:
    """Create or continue the DAG node `node_name`."""
    assert tmpl.dag is not None
    node = run.get(node_name) or run.open_node(node_name, "DAG", "Running", tmpl, opts)
    dag = Dag(
        run,
        node_name,
        node.id,
        tmpl,
        Opts(node.id, opts.on_exit, {}, dict(opts.locals)),
        execute,
        {t.name: t for t in tmpl.dag.tasks},
        {a.name: a for a in (tmpl.inputs.artifacts if tmpl.inputs else [])},
    )
    try:
        targets = _targets(dag)
        for target in targets:
            _execute_task(dag, target)
    except ExpressionError as exc:
        return run.mark(node_name, "Error", str(exc))
    phase = assess(run, node.id, targets, dag.node_name, tmpl, dag.tasks)
    if phase == "Running":
        return run.get(node_name) or node
    _set_outbound(dag, targets)
    if phase in ("Failed", "Error"):
        return run.mark(node_name, phase)
    try:
        outputs = template_outputs(run, tmpl, _scope(dag, list(dag.tasks)), dag.inputs)
    except NodeError as exc:
        return run.mark(node_name, "Error", str(exc))
    node = run.get(node_name) or node
    if outputs is not None:
        node = run.set_outputs(node, outputs)
    return run.mark_node(node, "Succeeded")


def _targets(dag: Dag) -> list[str]:
    assert dag.tmpl.dag is not None
    if dag.tmpl.dag.target:
        return dag.tmpl.dag.target.split()
    has_dependents: set[str] = set()
    for task in dag.tasks:
        has_dependents.update(dag.dependencies(task))
    return sorted(t for t in dag.tasks if t not in has_dependents)


def _execute_task(dag: Dag, task_name: str) -> None:
    if task_name in dag.visited:
        return
    dag.visited.add(task_name)
    run = dag.run
    task = dag.tasks[task_name]
    node = dag.task_node(task_name)
    if node is not None and task.hooks and (node.fulfilled or node.phase == "Running"):
        try:
            hooked = _lifecycle_hooks(dag, task, node)
        except NodeError as exc:
            run.mark_node(node, "Error", str(exc))
            return
        if node.fulfilled and not hooked:
            return  # its exit hook waits for them
    if node is not None and node.fulfilled:
        if node.completed:
            hooks.run_exit_hook(
                run, task, node, "tasks", _scope(dag, [task_name]), dag.opts, dag.execute
            )
        return
    if dag.depends(task_name) is not None and node is None:
        for dep in dag.dependencies(task_name):
            _execute_task(dag, dep)
        verdict = _evaluate_depends(dag, task_name)
        if verdict is None:
            return
        if not verdict:
            _skip(dag, task_name, "Omitted", "omitted: depends condition not met")
            return
    try:
        expanded = _resolve_task(dag, task)
    except (NodeError, ExpressionError) as exc:
        _skip(dag, task_name, "Error", str(exc))
        return
    _run_expanded(dag, task, expanded)


def _lifecycle_hooks(dag: Dag, task: DAGTask, node: NodeStatus) -> bool:
    """Run the task's hooks whose expression holds; True when the started ones have ended."""
    run = dag.run
    scope = _scope(dag, _ancestry(dag, task.name))
    values = {**scope.merged(run.globals), **dag.opts.locals}
    values[f"tasks.{task.name}.status"] = node.phase
    arguments = hooks.step_hook_arguments(run, task.name, node, "tasks", _scope(dag, [task.name]))
    return hooks.run_lifecycle_hooks(
        run, task.hooks, node, values, dag.opts, dag.execute, arguments
    )


def _skip(dag: Dag, task_name: str, phase: str, message: str) -> None:
    name = dag.node_name(task_name)
    if dag.run.get(name) is None:
        _connect(dag, task_name, name, None)
        dag.run.init_node(
            name,
            "Skipped",
            dag.boundary_id,
            phase,
            template_name=dag.tasks[task_name].template,
            message=message,
        )


def _evaluate_depends(dag: Dag, task_name: str) -> bool | None:
    """True/False once every dependency is done (and its exit hook); None while waiting."""
    results: dict[str, TaskResults] = {}
    continue_on: dict[str, tuple[bool, bool]] = {}
    for dep in dag.dependencies(task_name):
        node = dag.task_node(dep)
        if node is None or not node.fulfilled_or_daemoned or not _hooks_done(dag, node):
            return None
        results[dep] = _results(dag.run, node)
        spec = dag.tasks[dep].continue_on
        continue_on[dep] = (bool(spec and spec.failed), bool(spec and spec.error))
    expr = dag.depends(task_name)
    assert expr is not None
    return evaluate_depends(expr, results, continue_on)


def _hooks_done(dag: Dag, node: NodeStatus) -> bool:
    exit_node = dag.run.get(f"{node.name}.onExit")
    return exit_node is None or exit_node.fulfilled


def _results(run: Run, node: NodeStatus) -> TaskResults:
    any_succeeded = False
    all_failed = False
    if node.type == "TaskGroup":
        phases = [run.by_id(c).phase for c in node.children or []]
        any_succeeded = "Succeeded" in phases
        all_failed = bool(phases) and all(p == "Failed" for p in phases)
    return TaskResults(
        succeeded=node.phase == "Succeeded",
        failed=node.phase == "Failed",
        errored=node.phase == "Error",
        skipped=node.phase == "Skipped",
        omitted=node.phase == "Omitted",
        daemoned=bool(node.daemoned) and node.phase != "Pending",
        any_succeeded=any_succeeded,
        all_failed=all_failed,
    )


def _resolve_task(dag: Dag, task: DAGTask) -> list[tuple[str, DAGTask]]:
    """Substitute the outputs of ancestors into `task` and expand its loop, if any."""
    run = dag.run
    scope = _scope(dag, _ancestry(dag, task.name))
    values = {**scope.merged(run.globals), **dag.opts.locals}
    resolved = resolve_invocation(task, values, STRICT, scope, dag.inputs)
    if not task.loops():
        return [(task.name, resolved)]
    return loops.expand(resolved, values)


def _run_expanded(dag: Dag, task: DAGTask, expanded: list[tuple[str, DAGTask]]) -> None:
    run = dag.run
    base = dag.node_name(task.name)
    group = run.get(base)
    if group is not None and group.type != "TaskGroup":
        group = None
    if task.loops():
        if not expanded:
            _skip(dag, task.name, "Skipped", "Skipped, empty params")
            return
        if group is None:
            _connect(dag, task.name, base, None)
            group = run.init_node(
                base, "TaskGroup", dag.boundary_id, "Running", template_name=task.template
            )
    for name, item_task in expanded:
        if not _run_one(dag, task, name, item_task, group):
            return
    if group is not None:
        _finish_group(dag, group, [dag.node_name(name) for name, _ in expanded])


def _run_one(
    dag: Dag, task: DAGTask, name: str, item_task: DAGTask, group: NodeStatus | None
) -> bool:
    """Run one (expanded) task; False when the caller should stop for this tick."""
    run = dag.run
    node_name = dag.node_name(name)
    if run.get(node_name) is None:
        _connect(dag, task.name, node_name, group)
        skip = _when_false(item_task.when)
        if skip is not None:
            phase = "Error" if skip.startswith("Invalid") else "Skipped"
            run.init_node(
                node_name,
                "Skipped",
                dag.boundary_id,
                phase,
                template_name=item_task.template,
                message=skip,
            )
            return True
    locals_ = {**dag.opts.locals, "tasks.name": task.name}
    opts = Opts(dag.boundary_id, dag.opts.on_exit, {}, locals_)
    try:
        node = dag.execute(run, node_name, item_task, item_task.arguments, opts)
    except ParallelismReached:
        return True
    if node is None:
        return False
    if node.completed:
        hook = hooks.run_exit_hook(
            run, task, node, "tasks", _scope(dag, [task.name]), dag.opts, dag.execute
        )
        if hook is not None and not hook.fulfilled:
            return False
    return True


def _when_false(when: str | None) -> str | None:
    """None when the task should run; else why not (a false or an invalid `when`)."""
    if not when:
        return None
    try:
        if evaluate_when(when):
            return None
    except ExpressionError as exc:
        return f"Invalid 'when' expression: {exc}"
    return f"when '{when}' evaluated false"


def _finish_group(dag: Dag, group: NodeStatus, names: list[str]) -> None:
    phase = "Succeeded"
    for name in names:
        node = dag.run.get(name)
        if node is None or not node.fulfilled_or_daemoned:
            return
        if node.failed_or_error:
            phase = node.phase
    dag.run.mark(group.name, phase)


def _connect(dag: Dag, task_name: str, node_name: str, group: NodeStatus | None) -> None:
    """Hang `node_name` under the DAG (no dependencies), its task group, or its dependencies."""
    deps = dag.dependencies(task_name)
    if not deps or group is not None:
        parent = group.name if group is not None else dag.name
        dag.run.add_child(parent, node_name)
        return
    for dep in deps:
        dep_node = dag.task_node(dep)
        if dep_node is None:
            continue
        for out_id in outbound_nodes(dag.run, dep_node.id):
            dag.run.add_child(dag.run.by_id(out_id).name, node_name)


def _ancestry(dag: Dag, task_name: str) -> list[str]:
    seen: list[str] = []
    stack = list(dag.dependencies(task_name))
    while stack:
        dep = stack.pop()
        if dep in seen:
            continue
        seen.append(dep)
        stack.extend(dag.dependencies(dep))
    return seen


def _scope(dag: Dag, task_names: list[str]) -> Scope:
    scope = template_scope(dag.run)
    for name in task_names:
        node = dag.task_node(name)
        if node is None:
            continue
        if node.type == "TaskGroup":
            children = [dag.run.by_id(c) for c in node.children or []]
            add_aggregate(dag.run, scope, "tasks", name, children)
        add_node(dag.run, scope, "tasks", name, node)
    return scope


def _set_outbound(dag: Dag, targets: list[str]) -> None:
    outbound: list[str] = []
    for target in targets:
        node = dag.task_node(target)
        if node is not None:
            outbound.extend(outbound_nodes(dag.run, node.id))
    node = dag.run.get(dag.name)
    assert node is not None
    if node.outbound_nodes != outbound:
        dag.run.update(node, outbound_nodes=outbound)
