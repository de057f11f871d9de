"""A step's files: stage its input artifacts and script, collect its outputs afterwards.

These functions run inside the step's supervisor (a forked copy of the controller), so they
must not touch the database; they use the artifact repository and the step's PathMap only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from trainyard.artifacts.base import ArtifactRepository
from trainyard.core.errors import UserError
from trainyard.engine.actions import PodRequest
from trainyard.executors.base import PathMap
from trainyard.spec.models import Artifact, Template


def write_script(path: Path, source: str) -> None:
    """Write a script template's source where its command will find it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    path.chmod(0o755)


def stage_inputs(tmpl: Template, paths: PathMap, repository: ArtifactRepository) -> None:
    """Put every input artifact at its declared path."""
    for art in tmpl.inputs.artifacts if tmpl.inputs else []:
        if not art.path:
            continue
        dest = paths.host(art.path)
        dest.parent.mkdir(parents=True, exist_ok=True)
        _stage(art, dest, repository)
        if art.mode is not None:
            dest.chmod(art.mode)


def _stage(art: Artifact, dest: Path, repository: ArtifactRepository) -> None:
    if art.raw is not None:
        dest.write_text(art.raw.data)
    elif art.local is not None:
        repository.load({"local": art.local.dump()}, dest)
    elif art.s3 is not None or art.http is not None or art.git is not None:
        kind = "s3" if art.s3 is not None else ("http" if art.http is not None else "git")
        raise UserError(
            f"input artifact {art.name!r} comes from {kind}, which the local engine "
            "cannot fetch yet; pass it from an earlier step or as raw data"
        )
    else:
        raise UserError(f"input artifact {art.name!r} has no location")


def collect_outputs(
    tmpl: Template,
    pod: PodRequest,
    paths: PathMap,
    exit_code: int,
    repository: ArtifactRepository,
) -> dict[str, Any]:
    """The step's outputs in Argo's JSON shape (exitCode, parameters, artifacts).

    `result` is present (empty) when Argo would keep the step's stdout; the controller fills
    it in from the stdout the executor captured.
    """
    outputs: dict[str, Any] = {"exitCode": str(exit_code)}
    if tmpl.script is not None or pod.include_result:
        outputs["result"] = ""
    declared = tmpl.outputs
    if declared is None:
        return outputs
    params = [_parameter(p, paths, exit_code) for p in declared.parameters]
    outputs["parameters"] = [p for p in params if p is not None]
    artifacts = []
    for art in declared.artifacts:
        saved = _artifact(art, pod, paths, exit_code, repository)
        if saved is not None:
            artifacts.append(saved)
    outputs["artifacts"] = artifacts
    return outputs


def _parameter(param: Any, paths: PathMap, exit_code: int) -> dict[str, Any] | None:
    out: dict[str, Any] = {"name": param.name}
    if param.global_name:
        out["globalName"] = param.global_name
    source = param.value_from
    if source is None or not source.path:
        if param.value is None:
            return None
        out["value"] = param.value
        return out
    host = paths.host(source.path)
    try:
        text = host.read_text(errors="replace")
    except OSError as exc:
        if source.default is not None:
            text = source.default
        elif exit_code != 0:
            return None
        else:
            raise UserError(
                f"output parameter {param.name!r}: cannot read {source.path}: {exc.strerror or exc}"
            ) from exc
    out["value"] = text[:-1] if text.endswith("\n") else text
    return out


def _artifact(
    art: Artifact, pod: PodRequest, paths: PathMap, exit_code: int, repository: ArtifactRepository
) -> dict[str, Any] | None:
    if not art.path:
        return None
    host = paths.host(art.path)
    if not os.path.lexists(host):
        if art.optional or exit_code != 0:
            return None
        raise UserError(f"output artifact {art.name!r}: {art.path} was not created by the step")
    archive = art.archive is None or art.archive.none is None
    key = f"{pod.workflow_name}/{pod.pod_name}/{art.name}" + (".tgz" if archive else "")
    location = repository.save(host, key, archive=archive)
    saved: dict[str, Any] = {"name": art.name, "path": art.path, **location}
    if not archive:
        saved["archive"] = {"none": {}}
    if art.global_name:
        saved["globalName"] = art.global_name
    return saved
