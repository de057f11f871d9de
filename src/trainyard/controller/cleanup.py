"""What a workflow leaves on disk: released when it ends, removed when it is deleted."""

from __future__ import annotations

import shutil
from pathlib import Path

from trainyard.artifacts.base import ArtifactRepository
from trainyard.controller.launch import StepKey
from trainyard.core.errors import ConflictError
from trainyard.executors.base import Executor
from trainyard.spec.models import Workflow


def pod_keys(wf: Workflow) -> list[str]:
    """The executor keys of every pod node of `wf`."""
    uid = wf.metadata.uid or ""
    nodes = wf.status.nodes.values() if wf.status else []
    return [str(StepKey(uid, n.id)) for n in nodes if n.type == "Pod"]


def release_finished(executor: Executor, wf: Workflow) -> None:
    """Free the private files (/tmp, declared paths) of a finished workflow's steps."""
    for key in pod_keys(wf):
        try:
            executor.release(key)
        except ConflictError:
            continue  # a step still winding down; its files go with `delete`


def forget_dropped(executor: Executor, before: Workflow, after: Workflow) -> None:
    """Forget the step files of pod nodes that an edit (retry) removed, so they run anew."""
    for key in set(pod_keys(before)) - set(pod_keys(after)):
        executor.forget(key)


def remove(
    executor: Executor, repository: ArtifactRepository, volumes_dir: Path, wf: Workflow
) -> None:
    """Delete a finished workflow's step files, logs, artifacts and volumes."""
    for key in pod_keys(wf):
        executor.forget(key)
    if wf.metadata.name:
        repository.delete_prefix(f"{wf.metadata.name}/")
    uid = wf.metadata.uid or ""
    if uid:
        for kind in ("workflows", "pods"):
            shutil.rmtree(volumes_dir / kind / uid, ignore_errors=True)
