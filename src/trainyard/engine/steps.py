"""Steps templates: groups run one after another, the steps of a group in parallel."""

from __future__ import annotations

from trainyard.core.errors import ExpressionError
from trainyard.engine import hooks, loops
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
from trainyard.spec.govaluate import evaluate_when
from trainyard.spec.models import Artifact, NodeStatus, Template, WorkflowStep

STRICT = ("steps.", "tasks.")


def execute_steps(
    run: Run, node_name: str, tmpl: Template, opts: Opts, execute: ExecuteFn
) -> NodeStatus:
    """Create or continue the Steps node `node_name`."""
    node = run.get(node_name) or run.open_node(node_name, "Steps", "Running", tmpl, opts)
    scope = template_scope(run)
    inputs = {a.name: a for a in (tmpl.inputs.artifacts if tmpl.inputs else [])}
    group_opts = Opts(node.id, opts.on_exit, {}, dict(opts.locals))
    for index, group in enumerate(tmpl.steps or []):
        group_name = f"{node_name}[{index}]"
        _open_group(run, node_name, group_name, index)
        group_node = _execute_group(run, group_name, group, scope, inputs, group_opts, execute)
        if not group_node.fulfilled:
            return node
        if group_node.failed_or_error:
            _set_outbound(run, node_name, tmpl)
            return run.mark(node_name, "Failed", group_node.message)
        _add_group_outputs(run, scope, group_name, group)
    _set_outbound(run, node_name, tmpl)
    try:
        outputs = template_outputs(run, tmpl, scope, inputs)
    except NodeError as exc:
        return run.mark(node_name, "Error", str(exc))
    node = run.get(node_name) or node
    if outputs is not None:
        node = run.set_outputs(node, outputs)
    return run.mark_node(node, "Succeeded")


def _open_group(run: Run, steps_name: str, group_name: str, index: int) -> None:
    group = run.get(group_name)
    if group is None:
        steps_node = run.get(steps_name)
        assert steps_node is not None
        run.init_node(group_name, "StepGroup", steps_node.id, "Running")
        if index == 0:
            run.add_child(steps_name, group_name)
        else:
            _link_after(run, f"{steps_name}[{index - 1}]", group_name)
    elif not group.fulfilled:
        run.mark_node(group, "Running")


def _link_after(run: Run, previous_group: str, group_name: str) -> None:
    previous = run.get(previous_group)
    assert previous is not None
    if not previous.children:
        run.add_child(previous_group, group_name)
        return
    for child_id in previous.children:
        for out_id in outbound_nodes(run, child_id):
            run.add_child(run.by_id(out_id).name, group_name)


def _execute_group(
    run: Run,
    group_name: str,
    group: list[WorkflowStep],
    scope: Scope,
    inputs: dict[str, Artifact],
    opts: Opts,
    execute: ExecuteFn,
) -> NodeStatus:
    node = run.get(group_name)
    assert node is not None
    if node.fulfilled:
        return node
    values = scope.merged(run.globals)
    values = {**values, **opts.locals}
    # As Argo does, resolve every step of the group before starting any of them, so that a
    # reference that cannot be resolved leaves no sibling started.
    resolved: list[tuple[WorkflowStep, list[tuple[str, WorkflowStep]]]] = []
    for step in group:
        try:
            expanded = _resolve_step(run, group_name, step, scope, inputs, values, opts)
        except (NodeError, ExpressionError) as exc:
            return run.mark(group_name, "Error", str(exc))
        resolved.append((step, expanded))
    step_of: dict[str, WorkflowStep] = {}
    for step, expanded in resolved:
        for child_name, child_step in expanded:
            step_of[child_name] = step
            try:
                child = _run_step(run, group_name, child_name, child_step, opts, execute)
            except NodeError as exc:
                run.add_child(group_name, child_name)
                return run.mark(group_name, "Error", str(exc))
            if child is not None:
                run.add_child(group_name, child_name)
    return _assess_group(run, group_name, step_of, scope, opts, execute)


def _resolve_step(
    run: Run,
    group_name: str,
    step: WorkflowStep,
    scope: Scope,
    inputs: dict[str, Artifact],
    values: dict[str, str],
    opts: Opts,
) -> list[tuple[str, WorkflowStep]]:
    """Substitute earlier steps' outputs into `step` and expand its loop, if any."""
    resolved = resolve_invocation(step, values, STRICT, scope, inputs)
    base = f"{group_name}.{step.name}"
    if not step.loops():
        return [(base, resolved)]
    expanded = loops.expand(resolved, values)
    if not expanded and run.get(base) is None:
        run.init_node(base, "Skipped", opts.boundary_id, "Skipped", message="Skipped, empty params")
        run.add_child(group_name, base)
    return [(f"{group_name}.{name}", s) for name, s in expanded]


def _run_step(
    run: Run,
    group_name: str,
    child_name: str,
    step: WorkflowStep,
    opts: Opts,
    execute: ExecuteFn,
) -> NodeStatus | None:
    if step.when and run.get(child_name) is None:
        try:
            proceed = evaluate_when(step.when)
        except ExpressionError as exc:
            run.init_node(
                child_name,
                "Skipped",
                opts.boundary_id,
                "Error",
                template_name=step.template,
                message=f"Invalid 'when' expression: {exc}",
            )
            raise NodeError(str(exc)) from exc
        if not proceed:
            return run.init_node(
                child_name,
                "Skipped",
                opts.boundary_id,
                "Skipped",
                template_name=step.template,
                message=f"when '{step.when}' evaluated false",
            )
    locals_ = {**opts.locals, "steps.name": step.name}
    child_opts = Opts(opts.boundary_id, opts.on_exit, {}, locals_)
    try:
        return execute(run, child_name, step, step.arguments, child_opts)
    except ParallelismReached:
        return None


def _assess_group(
    run: Run,
    group_name: str,
    step_of: dict[str, WorkflowStep],
    scope: Scope,
    opts: Opts,
    execute: ExecuteFn,
) -> NodeStatus:
    node = run.get(group_name)
    assert node is not None
    completed = True
    for child_id in node.children or []:
        child = run.by_id(child_id)
        step = step_of.get(child.name)
        if step is not None and step.hooks:
            try:
                hooked = _lifecycle_hooks(run, step, child, scope, opts, execute)
            except NodeError as exc:
                return run.mark(group_name, "Error", str(exc))
            if not hooked:
                completed = False
                continue
        if not child.fulfilled_or_daemoned:
            completed = False
        elif child.completed and step is not None:
            exit_node = hooks.run_exit_hook(run, step, child, "steps", scope, opts, execute)
            if exit_node is not None and not exit_node.fulfilled:
                completed = False
    if not completed:
        return node
    for child_id in node.children or []:
        child = run.by_id(child_id)
        step = step_of.get(child.name)
        if child.failed_or_error and not (step is not None and step.continues_on(child.phase)):
            return run.mark(group_name, "Failed", f"child '{child_id}' failed")
    return run.mark(group_name, "Succeeded")


def _lifecycle_hooks(
    run: Run,
    step: WorkflowStep,
    child: NodeStatus,
    scope: Scope,
    opts: Opts,
    execute: ExecuteFn,
) -> bool:
    """Run the step's hooks whose expression holds; True when the started ones have ended."""
    values = {**scope.merged(run.globals), **opts.locals}
    values[f"steps.{child.display_name}.status"] = child.phase
    arguments = hooks.step_hook_arguments(run, step.name, child, "steps", scope)
    return hooks.run_lifecycle_hooks(run, step.hooks, child, values, opts, execute, arguments)


def _add_group_outputs(run: Run, scope: Scope, group_name: str, group: list[WorkflowStep]) -> None:
    group_node = run.get(group_name)
    assert group_node is not None
    for step in group:
        child = run.get(f"{group_name}.{step.name}")
        if child is not None:
            add_node(run, scope, "steps", step.name, child)
            continue
        prefix = f"{group_name}.{step.name}("
        items = [
            run.by_id(cid)
            for cid in group_node.children or []
            if run.by_id(cid).name.startswith(prefix) and run.by_id(cid).type != "Skipped"
        ]
        if items:
            add_aggregate(run, scope, "steps", step.name, items)


def _set_outbound(run: Run, node_name: str, tmpl: Template) -> None:
    last = None
    for index in range(len(tmpl.steps or []) - 1, -1, -1):
        last = run.get(f"{node_name}[{index}]")
        if last is not None:
            break
    if last is None:
        return
    outbound: list[str] = []
    for child_id in last.children or []:
        outbound.extend(outbound_nodes(run, child_id))
    node = run.get(node_name)
    assert node is not None
    if node.outbound_nodes != outbound:
        run.update(node, outbound_nodes=outbound)
