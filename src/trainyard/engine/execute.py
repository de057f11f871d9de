"""Run one template invocation: resolve it, bind inputs, wrap retries, dispatch on its kind."""

from __future__ import annotations

from trainyard.core.errors import UserError
from trainyard.engine import dag, memo, pods, retry, steps, suspend
from trainyard.engine.naming import pod_name
from trainyard.engine.run import MAX_DEPTH, NodeError, Opts, ParallelismReached, Run
from trainyard.engine.templates import bind_inputs, processed_template, resolve
from trainyard.spec.models import Arguments, NodeStatus, Template
from trainyard.spec.models.template import _Invocation


def node_type(tmpl: Template) -> str:
    """The node type Argo gives a template's node."""
    return {
        "steps": "Steps",
        "dag": "DAG",
        "suspend": "Suspend",
        "http": "HTTP",
    }.get(tmpl.kind(), "Pod")


def error_node(
    run: Run,
    node: NodeStatus | None,
    node_name: str,
    opts: Opts,
    invocation: _Invocation,
    message: str,
) -> NodeStatus:
    """Mark `node_name` Error (creating it as a Skipped-type node if it does not exist)."""
    if node is not None:
        return run.mark_node(node, "Error", message)
    return run.init_node(
        node_name,
        "Skipped",
        opts.boundary_id,
        "Error",
        template_name=invocation.template,
        message=message,
        flag=opts.flag or None,
    )


def execute(
    run: Run,
    node_name: str,
    invocation: _Invocation,
    args: Arguments | None,
    opts: Opts,
) -> NodeStatus | None:
    """Execute (or continue) the node `node_name`; None when parallelism holds it back."""
    node = run.get(node_name)
    if node is not None and node.fulfilled:
        return node
    if run.depth >= MAX_DEPTH:
        return error_node(
            run, node, node_name, opts, invocation, "Maximum recursion depth exceeded"
        )
    run.depth += 1
    try:
        done = _execute(run, node, node_name, invocation, args, opts)
        newly_done = done is not None and done.fulfilled and (node is None or not node.fulfilled)
        if newly_done and done is not None and done.type != "Pod":
            memo.save_if_succeeded(run, done)  # pods are saved when their result comes
        return done
    except (NodeError, UserError) as exc:
        return error_node(run, run.get(node_name), node_name, opts, invocation, str(exc))
    finally:
        run.depth -= 1


def _execute(
    run: Run,
    node: NodeStatus | None,
    node_name: str,
    invocation: _Invocation,
    args: Arguments | None,
    opts: Opts,
) -> NodeStatus | None:
    tmpl = resolve(run, invocation)
    locals_ = dict(opts.locals)
    locals_["node.name"] = node_name
    if tmpl.is_pod() and tmpl.retry_strategy is None:
        locals_["pod.name"] = pod_name(run.name, node_name, tmpl.name)
    inputs = bind_inputs(tmpl, args)
    processed = processed_template(run.uid, node_name, tmpl, inputs, {**run.globals, **locals_})
    check_parallelism(run, processed, node, opts.boundary_id)
    memoized = memo.memo_of(processed)
    if memoized is not None and node is None:
        hit = memo.hit_node(run, node_name, node_type(processed), processed, opts, memoized)
        if hit is not None:
            return hit
    if processed.retry_strategy is not None:
        done = retry.execute(run, node, node_name, processed, inputs, locals_, opts, dispatch)
    else:
        done = dispatch(run, node_name, processed, opts)
    if memoized is not None and done is not None:
        done = memo.mark_miss(run, done, memoized)
    return done


def dispatch(run: Run, node_name: str, tmpl: Template, opts: Opts) -> NodeStatus | None:
    """Run `tmpl` (already substituted) as the node `node_name`."""
    kind = tmpl.kind()
    if kind in ("container", "script", "container_set", "data"):
        return pods.execute(run, node_name, tmpl, opts)
    if kind == "steps":
        return steps.execute_steps(run, node_name, tmpl, opts, execute)
    if kind == "dag":
        return dag.execute_dag(run, node_name, tmpl, opts, execute)
    if kind == "suspend":
        return suspend.execute(run, node_name, tmpl, opts)
    if kind == "http":
        return pods.execute(run, node_name, tmpl, opts, "HTTP")
    if kind in ("resource", "plugin"):
        raise NodeError(
            f"template {tmpl.name!r} is a {kind} template: the local engine cannot run it yet; "
            "submit the workflow to an Argo server"
        )
    raise NodeError(f"template {tmpl.name!r} has nothing to run (no container, script, steps...)")


def check_parallelism(
    run: Run, tmpl: Template, node: NodeStatus | None, boundary_id: str | None
) -> None:
    """Raise ParallelismReached when a new node may not start now (Argo's checkParallelism)."""
    parallelism = run.spec.parallelism
    if node is None and tmpl.is_pod() and parallelism and run.active_pods() >= parallelism:
        raise ParallelismReached()
    if node is not None and tmpl.kind() in ("steps", "dag"):
        _check_own_limits(run, tmpl, node)
    if boundary_id and (node is None or node.phase not in ("Pending", "Running")):
        _check_boundary_limits(run, boundary_id)


def _check_own_limits(run: Run, tmpl: Template, node: NodeStatus) -> None:
    if tmpl.fail_fast and run.unsuccessful_children(node.id) > 0:
        if run.active_pods(node.id) == 0:
            _fail_fast(run, node)
        raise ParallelismReached()
    if tmpl.parallelism and run.active_pods(node.id) >= tmpl.parallelism:
        raise ParallelismReached()


def _check_boundary_limits(run: Run, boundary_id: str) -> None:
    boundary = run.nodes.get(boundary_id)
    if boundary is None:
        return
    tmpl = boundary_template(run, boundary)
    if tmpl is None:
        return
    if tmpl.fail_fast and run.unsuccessful_children(boundary_id) > 0:
        if run.active_pods(boundary_id) == 0:
            _fail_fast(run, boundary)
        raise ParallelismReached()
    if tmpl.parallelism and run.active_children(boundary_id) >= tmpl.parallelism:
        raise ParallelismReached()


def boundary_template(run: Run, boundary: NodeStatus) -> Template | None:
    """The template of a steps/DAG boundary node."""
    if not boundary.template_name:
        return None
    return run.spec.template(boundary.template_name)


def _fail_fast(run: Run, node: NodeStatus) -> None:
    message = "template has failed or errored children and failFast enabled"
    if node.type == "Steps":
        groups = [
            n
            for n in run.nodes.values()
            if n.boundary_id == node.id and n.type == "StepGroup" and not n.fulfilled
        ]
        for group in groups:
            run.mark_node(group, "Failed", message)
    run.mark_node(node, "Failed", message)
