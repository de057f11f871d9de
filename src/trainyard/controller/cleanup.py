"""What a workflow leaves on disk: released when it ends, removed when it is deleted."""

from __future__ import annotations

import shutil
from pathlib import Path

from trainyard.artifacts.base import Repositories
from trainyard.controller.launch import StepKey
from trainyard.controller.stepio import location_of
from trainyard.core.errors import ConflictError
from trainyard.executors.base import Executor
from trainyard.spec.models import Artifact, Workflow
from trainyard.spec.models.status import STEP_NODE_TYPES


def pod_keys(wf: Workflow) -> list[str]:
    """The executor keys of every pod node of `wf`."""
    uid = wf.metadata.uid or ""
    nodes = wf.status.nodes.values() if wf.status else []
    return [str(StepKey(uid, n.id)) for n in nodes if n.type in STEP_NODE_TYPES]


STILL_RUNNING = "Stopped: the workflow ended"


def release_finished(executor: Executor, wf: Workflow) -> None:
    """Free the private files (/tmp, declared paths) of a finished workflow's steps; stop
    any still running (a daemon whose stop was lost when a controller died, say)."""
    for key in pod_keys(wf):
        try:
            executor.release(key)
        except ConflictError:
            executor.kill(key, STILL_RUNNING)  # its files go with `delete`


def forget_dropped(executor: Executor, before: Workflow, after: Workflow) -> None:
    """Forget the step files of pod nodes that an edit (retry) removed, so they run anew."""
    for key in set(pod_keys(before)) - set(pod_keys(after)):
        executor.forget(key)


def remove(
    executor: Executor,
    repositories: Repositories,
    volumes_dir: Path,
    wf: Workflow,
    artifacts: bool = False,
) -> None:
    """Delete a finished workflow's step files, logs and volumes; with `artifacts`, also
    the artifacts its steps stored (Argo keeps them unless artifact GC says otherwise)."""
    for key in pod_keys(wf):
        executor.forget(key)
    if artifacts:
        for art in stored_artifacts(wf):
            location = location_of(art)
            if location is not None:
                repositories.for_location(location).delete_prefix(_key(location))
    uid = wf.metadata.uid or ""
    if uid:
        for kind in ("workflows", "pods"):
            shutil.rmtree(volumes_dir / kind / uid, ignore_errors=True)


def stored_artifacts(wf: Workflow) -> list[Artifact]:
    """Every output artifact the workflow's pods stored."""
    nodes = wf.status.nodes.values() if wf.status else []
    return [a for n in nodes if n.type == "Pod" and n.outputs for a in n.outputs.artifacts]


def _key(location: dict[str, object]) -> str:
    fields = next(iter(location.values()))
    return str(fields.get("key", "")) if isinstance(fields, dict) else ""
