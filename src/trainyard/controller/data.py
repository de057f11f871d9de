"""Launch a data template: list the files of an artifact location, transform the list, print it.

The step is built like a container template's whose command prints a file; its supervisor
writes that file before the command runs: the keys stored under the location (sorted), passed
through each transformation expression in turn with the list as `data`, as JSON. What it
prints is the node's `outputs.result`, as Argo's executor makes it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from trainyard.artifacts.base import ArtifactRepository, Repositories
from trainyard.controller.launch import EXECUTOR_ANNOTATION, LaunchError, build_launch
from trainyard.controller.secrets import SecretSource
from trainyard.core.errors import TrainyardError, UserError
from trainyard.engine.actions import PodRequest
from trainyard.executors.base import PathMap, StepLaunch
from trainyard.spec.expr import evaluate
from trainyard.spec.models import Container, Template
from trainyard.spec.models.data import DataTemplate

# Artifact locations the model keeps as unknown fields (the local engine stores none there).
OTHER_LOCATIONS = ("gcs", "oss", "azure", "hdfs", "artifactory", "plugin")


def build_data_launch(
    pod: PodRequest,
    repositories: Repositories,
    secrets: SecretSource,
    volumes_dir: Path,
    bind_inputs: bool = True,
    base_env: dict[str, str] | None = None,
    gpus: tuple[int, ...] | None = None,
) -> StepLaunch:
    """The step that runs the data template of `pod` (see the module docstring); the
    arguments are `build_launch`'s."""
    tmpl = pod.template
    data = tmpl.data
    assert data is not None
    repository, prefix = _source(tmpl, data, pod, repositories)
    listing = f"/tmp/.trainyard-data-{pod.node_id}.json"
    printer = Container(name="main", command=["cat", listing])
    as_container = tmpl.model_copy(update={"data": None, "container": printer})
    # Only a file is printed: a host process, whichever executor runs the other steps.
    annotations = {k: v for k, v in pod.annotations.items() if k != EXECUTOR_ANNOTATION}
    launch = build_launch(
        replace(pod, template=as_container, include_result=True, annotations=annotations),
        repositories,
        secrets,
        volumes_dir,
        bind_inputs,
        base_env,
        gpus,
    )
    expressions = [step.expression for step in data.transformation or [] if step.expression]
    stage = launch.prepare

    def prepare(paths: PathMap) -> None:
        if stage is not None:
            stage(paths)
        value = transform(repository.list_keys(prefix), expressions)
        target = paths.host(listing)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value, separators=(",", ":")))

    launch.prepare = prepare
    return launch


def transform(keys: list[str], expressions: list[str]) -> Any:
    """`keys` passed through each expression in turn, as `data`."""
    value: Any = keys
    for i, expression in enumerate(expressions):
        try:
            value = evaluate(expression, {"data": value})
        except TrainyardError as exc:
            raise UserError(f"data transformation {i} ({expression}): {exc}") from exc
    return value


def _source(
    tmpl: Template, data: DataTemplate, pod: PodRequest, repositories: Repositories
) -> tuple[ArtifactRepository, str]:
    """The repository to list and the key prefix: an `s3` location's bucket and key, else
    the workflow's own repository, all of it."""
    paths = data.source.artifact_paths
    if paths is None:
        raise LaunchError(
            f"data template {tmpl.name!r} has no source.artifactPaths: it is the only source "
            "Argo's data templates have"
        )
    if paths.s3 is not None:
        location: dict[str, Any] = {"s3": dict(paths.s3)}
        return repositories.for_location(location), str(paths.s3.get("key") or "")
    elsewhere = [kind for kind in OTHER_LOCATIONS if kind in (paths.model_extra or {})]
    if paths.has_location() or elsewhere:
        raise LaunchError(
            f"data template {tmpl.name!r}: artifactPaths {paths.name!r} can only list an s3 "
            "location or (without a location) the workflow's artifact repository"
        )
    return repositories.for_workflow(pod.artifact_repository_ref), ""
