"""Artifact downloads: a step's stored input or output artifact, as a file the server can send."""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from trainyard.artifacts.base import Repositories
from trainyard.controller.stepio import location_of
from trainyard.core.errors import NotFoundError
from trainyard.service.access import Caller
from trainyard.service.logs import pod_of
from trainyard.spec.models import Artifact, NodeStatus, Workflow
from trainyard.store.base import Store

KIND = "Workflow"


@dataclass(frozen=True)
class Download:
    """A file to send as `filename`; `scratch`, when set, is removed once it has been sent."""

    path: Path
    filename: str
    scratch: Path | None = None

    def discard(self) -> None:
        """Remove the scratch copy, if one was made."""
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


class ArtifactService:
    """Finds artifacts through workflows' node statuses and fetches them from repositories."""

    def __init__(self, store: Store, repositories: Repositories, scratch_dir: Path) -> None:
        self.store = store
        self.repositories = repositories
        self.scratch_dir = scratch_dir

    def workflow(self, caller: Caller, namespace: str, name: str) -> Workflow:
        """The workflow, if the caller may read it."""
        caller.require("read", namespace)
        return Workflow.model_validate(self.store.get(KIND, namespace, name))

    def workflow_by_uid(self, caller: Caller, uid: str) -> Workflow:
        """The workflow with this uid, if the caller may read its namespace."""
        for version in self.store.list_versions(KIND):
            if version.uid == uid:
                return self.workflow(caller, version.namespace, version.name)
        raise NotFoundError(f"no workflow has uid {uid!r}")

    def download(
        self, wf: Workflow, node_id: str, name: str, *, inputs: bool = False, unpack: bool = False
    ) -> Download:
        """The artifact as stored (`unpack`: its content; a directory comes as a .tgz)."""
        art = _find(wf, node_id, name, inputs)
        location = location_of(art)
        if location is None:
            raise NotFoundError(f"artifact {name!r} of node {node_id!r} was not stored")
        repository = self.repositories.for_location(location)
        stored = repository.local_path(location)
        archived = str(next(iter(location.values())).get("key", "")).endswith(".tgz")
        if stored is not None and stored.is_file() and not (unpack and archived):
            return Download(stored, stored.name)
        self.scratch_dir.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix="artifact-", dir=self.scratch_dir))
        try:
            target = scratch / name
            repository.load(location, target, archive=None if unpack else False)
            if target.is_dir():
                packed = scratch / f"{name}.tgz"
                with tarfile.open(packed, "w:gz") as archive:
                    archive.add(target, arcname=name)
                return Download(packed, packed.name, scratch)
            filename = name if unpack or not archived else f"{name}.tgz"
            return Download(target, filename, scratch)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise


def _find(wf: Workflow, node_id: str, name: str, inputs: bool) -> Artifact:
    nodes = wf.status.nodes.values() if wf.status else []
    node: NodeStatus | None = next(
        (n for n in nodes if node_id in (n.id, pod_of(wf, n)) and n.type == "Pod"), None
    )
    if node is None:
        raise NotFoundError(f"workflow {wf.metadata.name!r} has no pod node {node_id!r}")
    io = node.inputs if inputs else node.outputs
    found = [a for a in (io.artifacts if io else []) if a.name == name]
    if not found:
        side = "input" if inputs else "output"
        raise NotFoundError(f"node {node_id!r} has no {side} artifact {name!r}")
    return found[0]
