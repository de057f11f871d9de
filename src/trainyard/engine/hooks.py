"""Hooks of steps, tasks and workflows: `onExit` / `hooks.exit` run after the step or task
ends; the other hooks run once, when their expression first becomes true."""

from __future__ import annotations

from collections.abc import Callable

from trainyard.core.errors import ExpressionError
from trainyard.engine.run import ExecuteFn, NodeError, Opts, ParallelismReached, Run
from trainyard.engine.scope import Scope, as_argument, last_attempt, resolve_artifact
from trainyard.spec.expr import evaluate, nested_env
from trainyard.spec.models import Arguments, NodeStatus
from trainyard.spec.models.template import LifecycleHook, _Invocation
from trainyard.spec.variables import substitute_tree


def run_exit_hook(
    run: Run,
    invocation: _Invocation,
    node: NodeStatus,
    prefix: str,
    scope: Scope,
    opts: Opts,
    execute: ExecuteFn,
) -> NodeStatus | None:
    """Run the exit hook of the step/task that made `node`; None when it has none."""
    hook = invocation.exit_hook()
    if hook is None:
        return None
    if run.shutdown == "Terminate":
        return None
    name = f"{node.name}.onExit"
    existing = run.get(name)
    if existing is not None and existing.fulfilled:
        return existing
    args = _hook_arguments(run, hook, invocation.name, node, prefix, scope)
    hook_step = _Invocation(
        name=invocation.name, template=hook.template, template_ref=hook.template_ref
    )
    hook_opts = Opts(opts.boundary_id, True, {"hooked": True}, dict(opts.locals))
    result = execute(run, name, hook_step, args, hook_opts)
    run.add_child(node.name, name)
    return result


def _hook_arguments(
    run: Run, hook: LifecycleHook, step_name: str, node: NodeStatus, prefix: str, scope: Scope
) -> Arguments | None:
    if hook.arguments is None:
        return None
    values = scope.merged(run.globals)
    local = Scope(values=dict(values), artifacts=dict(scope.artifacts))
    local.values[f"{prefix}.{step_name}.status"] = node.phase
    outputs = last_attempt(run, node).outputs
    if outputs is not None:
        for param in outputs.parameters:
            local.values[f"{prefix}.{step_name}.outputs.parameters.{param.name}"] = (
                param.value or ""
            )
        if outputs.result is not None:
            local.values[f"{prefix}.{step_name}.outputs.result"] = outputs.result
        for art in outputs.artifacts:
            local.artifacts[f"{prefix}.{step_name}.outputs.artifacts.{art.name}"] = art
    data = substitute_tree(hook.arguments.dump(), local.values)
    args = Arguments.model_validate(data)
    artifacts = []
    for art in args.artifacts:
        if art.from_ is None:
            artifacts.append(art)
            continue
        found = resolve_artifact(local, {}, art.from_)
        artifacts.append(as_argument(found, art))
    return args.model_copy(update={"artifacts": artifacts})


def run_lifecycle_hooks(
    run: Run,
    hooks: dict[str, LifecycleHook] | None,
    node: NodeStatus,
    values: dict[str, str],
    opts: Opts,
    execute: ExecuteFn,
    arguments: Callable[[LifecycleHook], Arguments | None] | None = None,
) -> bool:
    """Run the hooks other than `exit` of the workflow, step or task that made `node`.

    A hook starts once, the first time its expression (over `values`) is true, as the node
    `<node>.hooks.<name>` under `node`; once started it is carried on whatever the
    expression says later. True when every hook started so far has ended.
    NodeError when an expression is missing or is not true or false.
    """
    done = True
    for event, hook in sorted((hooks or {}).items()):
        if event == "exit":
            continue
        name = f"{node.name}.hooks.{event}"
        existing = run.get(name)
        if existing is None and (run.shutdown or not _holds(event, hook, values)):
            continue
        if existing is not None and existing.fulfilled:
            continue
        step = _Invocation(name=event, template=hook.template, template_ref=hook.template_ref)
        args = arguments(hook) if arguments is not None else hook.arguments
        hook_opts = Opts(opts.boundary_id, False, {"hooked": True}, dict(opts.locals))
        try:
            result = execute(run, name, step, args, hook_opts)
        except ParallelismReached:
            result = None
        if result is not None:
            run.add_child(node.name, name)
        done = done and result is not None and result.fulfilled
    return done


def _holds(event: str, hook: LifecycleHook, values: dict[str, str]) -> bool:
    if not hook.expression:
        raise NodeError(f"lifecycle hook {event!r} needs an expression")
    try:
        result = evaluate(hook.expression, nested_env(values))
    except ExpressionError as exc:
        raise NodeError(f"lifecycle hook {event!r}: {exc}") from exc
    if not isinstance(result, bool):
        raise NodeError(
            f"lifecycle hook {event!r}: expression '{hook.expression}' must be true or false, "
            f"not {result!r}"
        )
    return result


def step_hook_arguments(
    run: Run, step_name: str, node: NodeStatus, prefix: str, scope: Scope
) -> Callable[[LifecycleHook], Arguments | None]:
    """How a step's or task's hook gets its arguments: as its exit hook does."""

    def resolve(hook: LifecycleHook) -> Arguments | None:
        return _hook_arguments(run, hook, step_name, node, prefix, scope)

    return resolve
