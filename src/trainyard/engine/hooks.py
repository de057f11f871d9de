"""Exit hooks of steps and tasks: `onExit` / `hooks.exit` run after the step or task ends."""

from __future__ import annotations

from trainyard.engine.run import ExecuteFn, Opts, Run
from trainyard.engine.scope import Scope, as_argument, last_attempt, resolve_artifact
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
