"""A step's files: stage its input artifacts and script, collect its outputs afterwards.

These functions run inside the step's supervisor (a forked copy of the controller), so they
must not touch the database; they use the artifact repositories and the step's PathMap only.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from trainyard.artifacts.base import ArtifactRepository, Repositories
from trainyard.core.errors import NotFoundError, UserError
from trainyard.engine.actions import PodRequest
from trainyard.executors.base import PathMap
from trainyard.spec.models import Artifact, Parameter, Template
from trainyard.spec.variables import substitute

LOG_ARTIFACT = "main-logs"
LOG_FILE = "main.log"
STORED_IN = ("local", "s3")
"""Artifact location kinds the local engine can read and write."""


def write_script(path: Path, source: str) -> None:
    """Write a script template's source where its command will find it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    path.chmod(0o755)


def location_of(art: Artifact) -> dict[str, Any] | None:
    """The location fields of a stored artifact (`{"local": {...}}`, `{"s3": {...}}`)."""
    if art.local is not None:
        return {"local": art.local.dump()}
    if art.s3 is not None and art.s3.get("key"):
        return {"s3": dict(art.s3)}
    return None


def key_only(art: Artifact) -> str | None:
    """The key of a key-only artifact (`s3: {key}` without bucket or endpoint), which Argo
    keeps in the workflow's artifact repository; None for any other artifact."""
    s3 = art.s3
    if not isinstance(s3, dict) or not s3.get("key") or s3.get("bucket") or s3.get("endpoint"):
        return None
    return str(s3["key"]).strip("/")


def with_key_only_inputs(
    tmpl: Template, pod: PodRequest, repositories: Repositories
) -> tuple[Template, set[str]]:
    """`tmpl` with its key-only input artifacts located in the workflow's repository, and
    their names (they may hold an archive under any key, so they are never bound as-is)."""
    inputs = tmpl.inputs
    if inputs is None or not any(key_only(a) for a in inputs.artifacts):
        return tmpl, set()
    repository = repositories.for_workflow(pod.artifact_repository_ref)
    located: list[Artifact] = []
    for art in inputs.artifacts:
        key = key_only(art)
        if key is None:
            located.append(art)
            continue
        fields = {k: v for k, v in art.dump().items() if k != "s3"}
        located.append(Artifact.model_validate({**fields, **repository.location(key)}))
    names = {a.name for a in inputs.artifacts if key_only(a)}
    new_inputs = inputs.model_copy(update={"artifacts": located})
    return tmpl.model_copy(update={"inputs": new_inputs}), names


def is_archived(art: Artifact) -> bool:
    """Whether a stored artifact is a tar+gzip archive (Argo's default) rather than as-is."""
    fields: dict[str, Any] = {}
    for value in (location_of(art) or {}).values():
        fields = value
    return art.archive is None and str(fields.get("key", "")).endswith(".tgz")


def stage_inputs(
    tmpl: Template, paths: PathMap, repositories: Repositories, bound: set[str]
) -> None:
    """Put every input artifact at its declared path (except those `bound` read-only)."""
    for art in tmpl.inputs.artifacts if tmpl.inputs else []:
        if not art.path or art.name in bound:
            continue
        dest = paths.host(art.path)
        dest.parent.mkdir(parents=True, exist_ok=True)
        _stage(art, dest, repositories)
        if art.mode is not None:
            dest.chmod(art.mode)


def _stage(art: Artifact, dest: Path, repositories: Repositories) -> None:
    if art.raw is not None:
        dest.write_text(art.raw.data)
        return
    location = location_of(art)
    if location is None:
        kinds = [k for k in ("http", "git") if getattr(art, k) is not None]
        where = (
            f"comes from {kinds[0]}, which the local engine cannot fetch yet"
            if kinds
            else ("has no location")
        )
        raise UserError(f"input artifact {art.name!r} {where}")
    try:
        repository = repositories.for_location(location)
        sub = _sub_path(art)
        if sub is None:
            repository.load(location, dest)
        else:
            _load_sub_path(repository, location, sub, dest, archived=is_archived(art))
    except UserError as exc:
        raise UserError(f"input artifact {art.name!r}: {exc}") from exc


def _sub_path(art: Artifact) -> str | None:
    """The artifact's `subPath`, normalized; UserError when it leads outside the artifact."""
    parts = [p for p in (art.sub_path or "").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UserError(f"subPath {art.sub_path!r} leads outside the artifact")
    return "/".join(parts) or None


def _load_sub_path(
    repository: ArtifactRepository,
    location: dict[str, Any],
    sub: str,
    dest: Path,
    *,
    archived: bool,
) -> None:
    """Put `sub` of the stored directory at `dest`: read at its own key when the directory is
    stored as-is, else taken out of the whole artifact (an archive)."""
    if not archived:
        ((kind, fields),) = location.items()
        inner = {kind: {**fields, "key": f"{str(fields.get('key', '')).rstrip('/')}/{sub}"}}
        try:
            repository.load(inner, dest)
            return
        except NotFoundError:
            pass  # an archive under a key of its own choosing (key-only): look inside it
    scratch = Path(tempfile.mkdtemp(prefix=".subpath-", dir=dest.parent))
    try:
        repository.load(location, scratch / "whole")
        found = scratch / "whole" / sub
        if not os.path.lexists(found):
            raise UserError(f"the artifact has no {sub!r} (its subPath)")
        os.rename(found, dest)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def resolve_repositories(tmpl: Template, pod: PodRequest, repositories: Repositories) -> None:
    """Make every repository the step will use before the supervisor is forked.

    Making one may read credentials from the store, which the supervisor must not touch;
    a repository the configuration cannot provide fails the step here, before it starts.
    """
    repositories.for_workflow(pod.artifact_repository_ref)
    for art in tmpl.inputs.artifacts if tmpl.inputs else []:
        location = location_of(art)
        if location is not None:
            repositories.for_location(location)
    for art in tmpl.outputs.artifacts if tmpl.outputs else []:
        if art.s3 is not None and key_only(art) is None:
            repositories.for_location({"s3": dict(art.s3)})


def collect_outputs(
    tmpl: Template,
    pod: PodRequest,
    paths: PathMap,
    exit_code: int,
    repositories: Repositories,
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
        saved = _artifact(art, pod, paths, exit_code, repositories)
        if saved is not None:
            artifacts.append(saved)
    outputs["artifacts"] = artifacts
    return outputs


def _parameter(param: Parameter, paths: PathMap, exit_code: int) -> dict[str, Any] | None:
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
    art: Artifact, pod: PodRequest, paths: PathMap, exit_code: int, repositories: Repositories
) -> dict[str, Any] | None:
    if not art.path:
        return None
    host = paths.host(art.path)
    if not os.path.lexists(host):
        if art.optional or exit_code != 0:
            return None
        raise UserError(f"output artifact {art.name!r}: {art.path} was not created by the step")
    archive = art.archive is None or art.archive.none is None
    repository, key = _destination(art, pod, repositories, archive)
    try:
        location = repository.save(host, key, archive=archive)
    except UserError as exc:
        raise UserError(f"output artifact {art.name!r}: {exc}") from exc
    saved: dict[str, Any] = {"name": art.name, "path": art.path, **location}
    if not archive:
        saved["archive"] = {"none": {}}
    if art.global_name:
        saved["globalName"] = art.global_name
    return saved


def archive_log(log: Path, pod: PodRequest, repositories: Repositories) -> dict[str, Any]:
    """Store the step's log (without the timestamps trainyard adds to each line) as Argo's
    `main-logs` artifact, at `<keyFormat>/main.log` in the workflow's repository."""
    repository = repositories.for_workflow(pod.artifact_repository_ref)
    plain = log.with_name(LOG_FILE)
    with log.open("rb") as stamped, plain.open("wb") as out:
        for line in stamped:
            _, sep, text = line.partition(b" ")
            out.write(text if sep else line)
    values = {**pod.variables, "pod.name": pod.pod_name}
    prefix = substitute(repository.key_format, values).strip("/")
    location = repository.save(plain, f"{prefix}/{LOG_FILE}", archive=False)
    return {"name": LOG_ARTIFACT, **location}


def _destination(
    art: Artifact, pod: PodRequest, repositories: Repositories, archive: bool
) -> tuple[ArtifactRepository, str]:
    """Where an output artifact goes: its own `s3:` block, else the workflow's repository."""
    key = key_only(art)
    if key is not None:
        return repositories.for_workflow(pod.artifact_repository_ref), key
    if art.s3 is not None:
        repository = repositories.for_location({"s3": dict(art.s3)})
        if art.s3.get("key"):
            return repository, str(art.s3["key"])
    else:
        repository = repositories.for_workflow(pod.artifact_repository_ref)
    values = {**pod.variables, "pod.name": pod.pod_name}
    prefix = substitute(repository.key_format, values).strip("/")
    return repository, f"{prefix}/{art.name}" + (".tgz" if archive else "")
