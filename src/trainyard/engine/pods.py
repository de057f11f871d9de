"""Pod nodes: ask for the process to run, stop it when the workflow says so, apply results."""

from __future__ import annotations

from trainyard.core.durations import parse_duration
from trainyard.core.errors import UserError
from trainyard.engine import containerset
from trainyard.engine.actions import KillPod, PodObservation, PodRequest, StartPod
from trainyard.engine.memo import save_if_succeeded
from trainyard.engine.naming import pod_name
from trainyard.engine.outputs import export_globals
from trainyard.engine.run import NodeError, Opts, Run
from trainyard.spec.models import NodeStatus, Template
from trainyard.spec.models.status import STEP_NODE_TYPES

DEADLINE_MESSAGE = "Step exceeded its deadline"
LOCAL_IP = "127.0.0.1"


def execute(
    run: Run, node_name: str, tmpl: Template, opts: Opts, node_type: str = "Pod"
) -> NodeStatus:
    """Create or continue the Pod node `node_name` for the substituted template `tmpl`.

    An http template runs the same way, as a step of its own (node type HTTP), so it is
    queued, logged, timed out, retried and re-adopted like any pod.
    """
    node = run.get(node_name) or run.open_node(node_name, node_type, "Pending", tmpl, opts)
    if node.fulfilled:
        return node
    reason = kill_reason(run, opts.on_exit)
    if reason is not None:
        run.actions.append(KillPod(node.id, reason))
        return node
    if node.phase == "Pending":
        run.actions.append(StartPod(_request(run, node, tmpl)))
        containerset.open_containers(run, node, tmpl)
    return node


def kill_reason(run: Run, on_exit: bool) -> str | None:
    """Why a running pod must stop now (shutdown or workflow deadline), if it must."""
    if run.shutdown == "Terminate" or (run.shutdown == "Stop" and not on_exit):
        return f"Stopped with strategy '{run.shutdown}'"
    if run.deadline is not None and run.now >= run.deadline and not on_exit:
        return DEADLINE_MESSAGE
    return None


def _request(run: Run, node: NodeStatus, tmpl: Template) -> PodRequest:
    volumes = [*(run.spec.volumes or []), *(tmpl.volumes or [])]
    return PodRequest(
        node_id=node.id,
        node_name=node.name,
        pod_name=pod_name(run.name, node.name, tmpl.name),
        template=tmpl,
        workflow_name=run.name,
        workflow_uid=run.uid,
        namespace=run.namespace,
        volumes=volumes,
        deadline_seconds=_deadline_seconds(run, node, tmpl),
        include_result=tmpl.http is not None or _result_referenced(run),
        artifact_repository_ref=run.spec.artifact_repository_ref,
        archive_logs=_archive_logs(run, tmpl),
        variables={k: v for k, v in run.globals.items() if k.startswith("workflow.")},
        priority=run.spec.priority or 0,
        labels=run.labels,
        annotations=run.annotations,
    )


def _archive_logs(run: Run, tmpl: Template) -> bool | None:
    """What the template (archiveLocation.archiveLogs), else the workflow, says of its log."""
    own = (tmpl.archive_location or {}).get("archiveLogs")
    return bool(own) if own is not None else run.spec.archive_logs


def _result_referenced(run: Run) -> bool:
    """Whether any template reads `outputs.result` (Argo only keeps stdout then)."""
    if run.result_used is None:
        run.result_used = "outputs.result" in run.spec.model_dump_json()
    return run.result_used


def _deadline_seconds(run: Run, node: NodeStatus, tmpl: Template) -> float | None:
    limits: list[float] = []
    if tmpl.active_deadline_seconds is not None:
        limits.append(_seconds(tmpl.active_deadline_seconds, "activeDeadlineSeconds"))
    if tmpl.timeout:
        elapsed = (run.now - run.started(node)).total_seconds()
        limits.append(max(0.0, _seconds(tmpl.timeout, "timeout") - elapsed))
    return min(limits) if limits else None


def _seconds(value: int | str, field: str) -> float:
    try:
        return parse_duration(value)
    except UserError as exc:
        raise NodeError(f"{field} {value!r} is not a duration") from exc


def apply(run: Run, obs: PodObservation) -> None:
    """Record what happened to a pod: it waits (and why), runs, or ended with these outputs."""
    node = run.nodes.get(obs.node_id)
    if node is None or node.fulfilled or node.type not in STEP_NODE_TYPES:
        return
    if obs.phase == "Pending":
        # Still queued (and why), or back in the queue after being preempted.
        if node.phase == "Running":
            node = run.mark_node(node, "Pending")
            if node.daemoned:
                node = run.update(node, daemoned=None)
        if obs.message != node.message:
            run.update(node, message=obs.message, devices=None)
        return
    if obs.phase == "Running":
        if node.phase == "Pending":
            node = run.mark_node(node, "Running")
            node = run.update(
                node,
                message=None,
                host_node_name=obs.host or node.host_node_name,
                devices=list(obs.devices) or None,
            )
            containerset.running(run, node)
        if obs.daemoned and not node.daemoned:
            # Its ports are the host's: other steps reach it on the loopback address.
            run.update(node, daemoned=True, pod_ip=LOCAL_IP)
        return
    outputs = obs.outputs
    phase, message = obs.phase, obs.message
    if node.children:
        failure = containerset.finish(run, node, obs)
        if phase != "Succeeded":
            message = message or failure
    if phase == "Succeeded" and _is_daemon(run, node):
        # A daemon runs until its scope ends: ending by itself is a failure (as in Argo).
        phase, message = "Failed", message or "daemon exited before its scope ended"
    if phase == "Failed" and not message:
        message = f"Error (exit code {obs.exit_code})"
    if node.daemoned:
        node = run.update(node, daemoned=None)
    node = run.update(node, outputs=outputs if outputs and not outputs.is_empty() else None)
    if obs.host:
        node = run.update(node, host_node_name=obs.host)
    node = run.mark_node(node, phase, message)
    if node.devices and node.started_at:
        seconds = round((obs.at - run.started(node)).total_seconds())
        node = run.update(node, resources_duration={"nvidia.com/gpu": seconds * len(node.devices)})
    if phase == "Succeeded":
        export_globals(run, outputs)
        save_if_succeeded(run, node)
    progress = "1/1" if phase == "Succeeded" else "0/1"
    run.update(node, progress=progress)


def _is_daemon(run: Run, node: NodeStatus) -> bool:
    """Whether `node` runs a daemon template (one of the workflow's own, or daemoned)."""
    if node.daemoned:
        return True
    tmpl = run.spec.template(node.template_name) if node.template_name else None
    return tmpl is not None and bool(tmpl.daemon)
