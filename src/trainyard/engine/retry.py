"""Retry nodes: run attempts `name(0)`, `name(1)`, ... under the retryStrategy's rules."""

from __future__ import annotations

from datetime import timedelta

from trainyard.core.clock import parse_time
from trainyard.core.durations import format_duration, parse_duration
from trainyard.engine.naming import pod_name
from trainyard.engine.run import DispatchFn, NodeError, Opts, Run
from trainyard.engine.scope import attempts_of
from trainyard.engine.templates import substitute_template
from trainyard.spec.expr import evaluate, nested_env
from trainyard.spec.models import Inputs, NodeStatus, RetryStrategy, Template

_WAIT = "wait"
_GO = "go"


def execute(
    run: Run,
    node: NodeStatus | None,
    node_name: str,
    tmpl: Template,
    inputs: Inputs,
    locals_: dict[str, str],
    opts: Opts,
    dispatch: DispatchFn,
) -> NodeStatus | None:
    """Continue the Retry node `node_name`: judge the last attempt, maybe start the next."""
    strategy = tmpl.retry_strategy
    assert strategy is not None
    if node is None:
        node = run.open_node(node_name, "Retry", "Running", tmpl, opts)
    if _judge(run, node, strategy) == _WAIT:
        return run.get(node_name)
    node = run.get(node_name)
    assert node is not None
    if node.fulfilled:
        return node
    attempt, attempt_name, last = _next_attempt(run, node)
    attempt_locals = _attempt_locals(run, attempt_name, tmpl, attempt, last, locals_)
    attempt_tmpl, _ = substitute_template(tmpl, inputs, {**run.globals, **attempt_locals})
    attempt_tmpl = attempt_tmpl.model_copy(update={"retry_strategy": None})
    flag = {**opts.flag, "retried": True}
    child_opts = Opts(opts.boundary_id, opts.on_exit, flag, attempt_locals)
    child = dispatch(run, attempt_name, attempt_tmpl, child_opts)
    if child is not None and child.daemoned and not child.fulfilled:
        _daemoned(run, node_name, child)
    if child is not None and child.fulfilled:
        # A steps/DAG attempt can end within this tick, when no pod result will wake the
        # workflow again: judge it now, and come back at once for the next attempt.
        node = run.get(node_name)
        assert node is not None
        if _judge(run, node, strategy) == _GO and not run.by_id(node.id).fulfilled:
            run.wake(run.now)
    return run.get(node_name)


def _daemoned(run: Run, node_name: str, attempt: NodeStatus) -> None:
    """The attempt is a ready daemon: so is the Retry node, for its scope to go on."""
    node = run.get(node_name)
    if node is not None and not node.daemoned:
        node = run.update(node, daemoned=True, pod_ip=attempt.pod_ip)
        run.note_daemon(node)


def _next_attempt(run: Run, node: NodeStatus) -> tuple[int, str, NodeStatus | None]:
    attempts = attempts_of(run, node)
    last = attempts[-1] if attempts else None
    if last is not None and not last.fulfilled:
        return len(attempts) - 1, last.name, last
    attempt = len(attempts)
    name = f"{node.name}({attempt})"
    run.add_child(node.name, name)
    return attempt, name, last


def _attempt_locals(
    run: Run,
    name: str,
    tmpl: Template,
    attempt: int,
    last: NodeStatus | None,
    base: dict[str, str],
) -> dict[str, str]:
    values = dict(base)
    values["node.name"] = name
    values["retries"] = str(attempt)
    if tmpl.is_pod():
        values["pod.name"] = pod_name(run.name, name, tmpl.name)
    values["retries.lastExitCode"] = "0"
    values["retries.lastDuration"] = "0"
    values["retries.lastStatus"] = ""
    values["retries.lastMessage"] = ""
    if last is not None:
        if last.outputs is not None and last.outputs.exit_code is not None:
            values["retries.lastExitCode"] = last.outputs.exit_code
        values["retries.lastStatus"] = last.phase
        values["retries.lastMessage"] = last.message or ""
        if last.started_at and last.finished_at:
            took = parse_time(last.finished_at) - parse_time(last.started_at)
            values["retries.lastDuration"] = str(took.total_seconds())
    return values


def _judge(run: Run, node: NodeStatus, strategy: RetryStrategy) -> str:
    """Decide from the last attempt: succeed, fail, wait for backoff, or go on."""
    children = [a.id for a in attempts_of(run, node)]
    if not children:
        return _GO
    last = run.by_id(children[-1])
    if not last.fulfilled:
        return _GO
    if node.daemoned:
        node = run.update(node, daemoned=None)
    if not last.failed_or_error:
        node = run.update(node, outputs=last.outputs)
        run.mark_node(node, "Succeeded")
        return _GO
    if run.shutdown:
        run.mark_node(node, last.phase, f"Stopped with strategy '{run.shutdown}'")
        return _GO
    if run.deadline is not None and run.now >= run.deadline:
        run.mark_node(node, last.phase, "retry exceeded workflow deadline")
        return _GO
    if strategy.backoff is not None and _backoff(run, node, strategy, children, last) == _WAIT:
        return _WAIT
    if not _policy_allows(strategy, last):
        run.mark_node(node, last.phase, last.message)
        return _GO
    limit = _limit(strategy)
    if limit is not None and len(children) > limit:
        run.mark_node(node, last.phase, "No more retries left")
    elif strategy.expression and not _expression_allows(strategy.expression, len(children), last):
        run.mark_node(node, last.phase, "retryStrategy.expression evaluated to false")
    return _GO


def _expression_allows(expression: str, attempts: int, last: NodeStatus) -> bool:
    """Argo's retryStrategy.expression, over `retries` and `lastRetry.*` of the last attempt."""
    exit_code = last.outputs.exit_code if last.outputs is not None else None
    duration = "0"
    if last.started_at and last.finished_at:
        duration = str((parse_time(last.finished_at) - parse_time(last.started_at)).total_seconds())
    scope = {
        "retries": str(attempts - 1),
        "lastRetry.exitCode": exit_code if exit_code is not None else "-1",
        "lastRetry.status": last.phase,
        "lastRetry.duration": duration,
        "lastRetry.message": last.message or "",
    }
    result = evaluate(expression, nested_env(scope))
    if not isinstance(result, bool):
        raise NodeError(
            f"retryStrategy.expression '{expression}' must be true or false, not {result!r}"
        )
    return result


def _limit(strategy: RetryStrategy) -> int | None:
    if strategy.limit is None:
        return None
    try:
        return int(strategy.limit)
    except ValueError as exc:
        raise NodeError(f"retryStrategy.limit {strategy.limit!r} is not a number") from exc


def _policy_allows(strategy: RetryStrategy, last: NodeStatus) -> bool:
    # Argo 3.5+: with an expression and no policy, the expression alone decides.
    policy = strategy.retry_policy or ("Always" if strategy.expression else "OnFailure")
    if policy == "Always":
        return True
    if policy == "OnFailure":
        return last.phase == "Failed"
    if policy in ("OnError", "OnTransientError"):
        return last.phase == "Error"
    raise NodeError(
        f"retryPolicy {policy!r} is not one of Always, OnFailure, OnError, OnTransientError"
    )


def _backoff(
    run: Run, node: NodeStatus, strategy: RetryStrategy, children: list[str], last: NodeStatus
) -> str:
    backoff = strategy.backoff
    assert backoff is not None
    max_deadline = None
    if backoff.max_duration is not None:
        first = run.by_id(children[0])
        max_deadline = run.started(first) + timedelta(seconds=parse_duration(backoff.max_duration))
        if run.now >= max_deadline:
            run.mark_node(node, last.phase, "Max duration limit exceeded")
            return _GO
    if backoff.duration is None:
        raise NodeError("retryStrategy.backoff needs a duration")
    wait = parse_duration(backoff.duration)
    factor = float(backoff.factor) if backoff.factor is not None else 0.0
    if factor > 0:
        wait *= factor ** (len(children) - 1)
    if backoff.cap is not None:
        wait = min(wait, parse_duration(backoff.cap))
    finished = parse_time(last.finished_at) if last.finished_at else run.now
    ready = finished + timedelta(seconds=wait)
    if max_deadline is not None and ready > max_deadline:
        run.mark_node(node, last.phase, "Backoff would exceed max duration limit")
        return _GO
    limit = _limit(strategy)
    if run.now < ready and limit is not None and len(children) <= limit:
        run.wake(ready)
        run.mark_node(node, node.phase, f"Backoff for {format_duration(wait)}")
        return _WAIT
    if node.message:
        run.update(node, message=None)
    return _GO
