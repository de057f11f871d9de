"""The engine's entry point: `decide(workflow, observations, now)` -> next status and actions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from trainyard.core.clock import parse_time
from trainyard.core.durations import parse_duration
from trainyard.core.errors import UserError
from trainyard.engine import hooks, pods
from trainyard.engine.actions import Decision, MemoCache, PodObservation, StartPod
from trainyard.engine.execute import execute
from trainyard.engine.run import NodeError, Opts, ParallelismReached, Run
from trainyard.engine.variables import duration, failures, global_values
from trainyard.spec.models import (
    NodeStatus,
    Outputs,
    Workflow,
    WorkflowStatus,
    WorkflowStep,
)

WORKFLOW_PHASE = {
    "Pending": "Pending",
    "Running": "Running",
    "Succeeded": "Succeeded",
    "Skipped": "Succeeded",
    "Omitted": "Succeeded",
    "Failed": "Failed",
    "Error": "Error",
}
DONE = frozenset({"Succeeded", "Failed", "Error"})


def decide(
    wf: Workflow,
    observations: Sequence[PodObservation],
    now: datetime,
    caches: Mapping[str, MemoCache] | None = None,
) -> Decision:
    """Advance `wf` by one step given what happened to its pods; `wf` itself is not changed.
    `caches` are the memoization caches its templates name, by name (absent ones are empty)."""
    status = wf.status or WorkflowStatus()
    if status.phase in DONE:
        return Decision(wf, [], None, changed=False)
    run = _start(wf, status, now)
    run.caches = caches or {}
    for obs in observations:
        pods.apply(run, obs)
    run.count_active()
    try:
        run.globals = global_values(wf, now)
    except (NodeError, UserError) as exc:
        return _finish(run, wf, status, "Error", str(exc))
    if status.phase in (None, "", "Pending"):
        status = status.model_copy(update={"phase": "Running", "started_at": run.now_text})
        run.changed = True
    if wf.spec.active_deadline_seconds is not None and status.started_at:
        seconds = parse_duration(wf.spec.active_deadline_seconds)
        run.deadline = parse_time(status.started_at) + timedelta(seconds=seconds)
        run.wake(run.deadline)
    if wf.spec.suspend:
        return _result(run, wf, status)
    # As in Argo, templates and hooks see the workflow's phase while it runs.
    run.globals["workflow.status"] = status.phase or "Running"
    entry = WorkflowStep(name=wf.spec.entrypoint or "", template=wf.spec.entrypoint)
    try:
        root = execute(run, run.name, entry, wf.spec.arguments, Opts())
    except ParallelismReached:
        # its own limits hold the entry template back; failFast may have just ended it
        root = run.get(run.name)
    if root is None:
        return _result(run, wf, status)
    phase = WORKFLOW_PHASE[root.phase]
    run.globals["workflow.status"] = phase
    root, hooked = _workflow_hooks(run, wf, root)
    if not root.fulfilled or not hooked:
        return _result(run, wf, status)
    phase = WORKFLOW_PHASE[root.phase]
    run.globals["workflow.duration"] = duration(wf, now)
    run.globals["workflow.failures"] = failures(run.nodes, run.name)
    try:
        exit_node = _exit_handler(run, wf)
    except ParallelismReached:
        exit_node = run.get(f"{run.name}.onExit")
        if exit_node is None:
            return _result(run, wf, status)
    if exit_node is not None and not exit_node.fulfilled:
        return _result(run, wf, status)
    message = root.message
    if root.failed_or_error and run.shutdown:
        message = f"Stopped with strategy '{run.shutdown}'"
    if phase == "Succeeded" and exit_node is not None and exit_node.failed_or_error:
        phase = "Failed" if exit_node.phase == "Failed" else "Error"
        message = exit_node.message
    return _finish(run, wf, status, phase, message)


def _start(wf: Workflow, status: WorkflowStatus, now: datetime) -> Run:
    meta = wf.metadata
    run = Run(
        name=meta.name or "",
        uid=meta.uid or "",
        namespace=meta.namespace or "default",
        spec=wf.spec,
        nodes=dict(status.nodes),
        now=now,
        labels=dict(meta.labels or {}),
        annotations=dict(meta.annotations or {}),
    )
    run.shutdown = wf.spec.shutdown or None
    if status.outputs is not None:
        for param in status.outputs.parameters:
            run.global_outputs[param.name] = param
        for art in status.outputs.artifacts:
            run.global_artifacts[art.name] = art
    return run


def _workflow_hooks(run: Run, wf: Workflow, root: NodeStatus) -> tuple[NodeStatus, bool]:
    """Run `spec.hooks` other than `exit` (under the root node); the workflow ends only
    once every hook that started has ended. A broken hook errors the root node, as in Argo."""
    if not wf.spec.hooks:
        return root, True
    run.globals["workflow.failures"] = failures(run.nodes, run.name)
    try:
        hooked = hooks.run_lifecycle_hooks(run, wf.spec.hooks, root, run.globals, Opts(), execute)
    except NodeError as exc:
        return run.mark_node(run.get(root.name) or root, "Error", str(exc)), True
    return run.get(root.name) or root, hooked


def _exit_handler(run: Run, wf: Workflow) -> NodeStatus | None:
    hook = None
    if wf.spec.hooks and "exit" in wf.spec.hooks:
        hook = wf.spec.hooks["exit"]
    template = hook.template if hook is not None else wf.spec.on_exit
    if not template or run.shutdown == "Terminate":
        return None
    step = WorkflowStep(name="onExit", template=template)
    args = hook.arguments if hook is not None else None
    opts = Opts(None, True, {"hooked": True})
    return execute(run, f"{run.name}.onExit", step, args, opts)


def _progress(nodes: dict[str, NodeStatus]) -> str:
    total = done = 0
    for node in nodes.values():
        if node.type in ("Pod", "HTTP"):
            total += 1
            done += node.phase == "Succeeded"
    return f"{done}/{total}"


def _status_outputs(run: Run) -> Outputs | None:
    if not run.global_outputs and not run.global_artifacts:
        return None
    return Outputs(
        parameters=list(run.global_outputs.values()),
        artifacts=list(run.global_artifacts.values()),
    )


def _result(run: Run, wf: Workflow, status: WorkflowStatus) -> Decision:
    progress = _progress(run.nodes)
    new_status = status.model_copy(
        update={"nodes": run.nodes, "progress": progress, "outputs": _status_outputs(run)}
    )
    changed = run.changed or progress != status.progress or status is not wf.status
    new_wf = wf.model_copy(update={"status": new_status})
    return Decision(new_wf, run.actions, run.wake_at, changed=changed)


def _finish(
    run: Run, wf: Workflow, status: WorkflowStatus, phase: str, message: str | None
) -> Decision:
    status = status.model_copy(
        update={
            "phase": phase,
            "message": message,
            "finished_at": run.now_text,
            "started_at": status.started_at or run.now_text,
        }
    )
    run.changed = True
    decision = _result(run, wf, status)
    decision.actions = [a for a in decision.actions if not isinstance(a, StartPod)]
    return decision
