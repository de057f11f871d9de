"""Launch a containerSet pod as one step whose command runs the containers in dependency order.

The step is built like a container template's whose one container is the runner
(`trainyard.executors.containerset`), mounting every volume any container of the set mounts:
the containers then share the step's sandbox, private paths and volumes, as the containers of
one pod share its volumes. Each container's own command and variables travel in the runner's
environment; when the step ends, its outputs carry what became of each container.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from trainyard.artifacts.base import Repositories
from trainyard.controller.launch import (
    EXECUTOR_ANNOTATION,
    LaunchError,
    _command,
    build_launch,
)
from trainyard.controller.secrets import SecretSource
from trainyard.core.durations import parse_duration
from trainyard.core.errors import UserError
from trainyard.engine.actions import ContainerState, PodRequest
from trainyard.executors.base import PathMap, StepLaunch
from trainyard.executors.containerset import MAIN, PLAN_ENV
from trainyard.spec.models import Container, Template
from trainyard.spec.models.containerset import ContainerSetTemplate

RUNNER = "trainyard.executors.containerset"
# The runner imports the trainyard that launched it, wherever that one was imported from.
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
CONTAINERS_KEY = "trainyard.io/containers"
"""Where a containerSet step's outputs carry its containers' records (taken out again)."""


def build_container_set_launch(
    pod: PodRequest,
    repositories: Repositories,
    secrets: SecretSource,
    volumes_dir: Path,
    bind_inputs: bool = True,
    base_env: dict[str, str] | None = None,
    gpus: tuple[int, ...] | None = None,
) -> StepLaunch:
    """The step that runs the containerSet pod `pod` (see the module docstring); the
    arguments are `build_launch`'s."""
    tmpl = pod.template
    cset = tmpl.container_set
    assert cset is not None
    if pod.annotations.get(EXECUTOR_ANNOTATION) == "container":
        raise LaunchError(
            f"template {tmpl.name!r} is a containerSet: the container executor does not run "
            "it; run the workflow with --executor process"
        )
    status = f"/tmp/.trainyard-containerset-{pod.node_id}.json"
    runner = Container(
        name=MAIN,
        command=[sys.executable, "-m", RUNNER],
        volume_mounts=_all_mounts(tmpl, cset),
    )
    as_container = tmpl.model_copy(update={"container_set": None, "container": runner})
    launch = build_launch(
        replace(pod, template=as_container),
        repositories,
        secrets,
        volumes_dir,
        bind_inputs,
        base_env,
        gpus,
    )
    pythonpath = launch.env.get("PYTHONPATH")
    plan = {
        "status": status,
        "pythonpath": pythonpath,
        "attempts": _attempts(tmpl, cset),
        "pause": _pause(tmpl, cset),
        "containers": [_member(pod, tmpl, node, secrets) for node in cset.containers],
    }
    launch.env[PLAN_ENV] = json.dumps(plan)
    launch.env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_ROOT, pythonpath) if p)
    launch.private_paths = sorted(
        {*launch.private_paths, *(c.working_dir for c in cset.containers if c.working_dir)}
    )
    collect = launch.collect

    def collect_all(paths: PathMap, exit_code: int) -> dict[str, Any]:
        records = _records(paths.host(status))
        outputs = collect(paths, exit_code) if collect is not None else {}
        main = next((r for r in records if r.get("name") == MAIN), None)
        # Argo's exitCode is the main container's: none when there is none, or it never ran
        if main is not None and main.get("exitCode") is not None:
            outputs["exitCode"] = str(main["exitCode"])
        else:
            outputs.pop("exitCode", None)
        outputs[CONTAINERS_KEY] = records
        return outputs

    launch.collect = collect_all
    return launch


def container_states(outputs: dict[str, Any]) -> tuple[dict[str, Any], tuple[ContainerState, ...]]:
    """Split a step's outputs into Argo's outputs and its containers' records (if any)."""
    records = outputs.get(CONTAINERS_KEY)
    if records is None:
        return outputs, ()
    rest = {k: v for k, v in outputs.items() if k != CONTAINERS_KEY}
    states = tuple(
        ContainerState(
            name=str(r.get("name")),
            phase=str(r.get("phase")),
            exit_code=r.get("exitCode"),
            message=r.get("message"),
            started_at=r.get("startedAt"),
            finished_at=r.get("finishedAt"),
            cause=bool(r.get("cause")),
        )
        for r in records
        if isinstance(r, dict) and r.get("phase") in ("Succeeded", "Failed", "Error")
    )
    return rest, states


def _all_mounts(tmpl: Template, cset: ContainerSetTemplate) -> list[Any]:
    """Every volume any container mounts, once per path (one path, one volume)."""
    by_path: dict[str, Any] = {}
    for node in cset.containers:
        for mount in cset.mounts_of(node):
            seen = by_path.get(mount.mount_path)
            if seen is not None and (seen.name, seen.sub_path) != (mount.name, mount.sub_path):
                raise LaunchError(
                    f"template {tmpl.name!r}: containers mount different volumes at "
                    f"{mount.mount_path}, which the local engine cannot show them apart; "
                    "use one mountPath per volume"
                )
            by_path[mount.mount_path] = mount
    return list(by_path.values())


def _member(
    pod: PodRequest, tmpl: Template, node: Container, secrets: SecretSource
) -> dict[str, Any]:
    """One container of the plan: its command, its own variables, where it starts."""
    command = _command(tmpl, node, None)
    env = {
        "ARGO_CONTAINER_NAME": node.name or "",
        "ARGO_TEMPLATE": json.dumps(tmpl.dump(), separators=(",", ":")),
        **secrets.container_env(pod.namespace, node),
    }
    return {
        "name": node.name,
        "command": command,
        "env": env,
        "workingDir": node.working_dir,  # none: the step's own, as for a single container
        "dependencies": list(getattr(node, "dependencies", None) or []),
    }


def _attempts(tmpl: Template, cset: ContainerSetTemplate) -> int:
    """Runs of a failing container in all: Argo's executor makes `retries` of them."""
    strategy = cset.retry_strategy
    if strategy is None or strategy.retries is None:
        return 1
    try:
        return max(1, int(strategy.retries))
    except ValueError as exc:
        raise LaunchError(
            f"template {tmpl.name!r}: containerSet.retryStrategy.retries "
            f"{strategy.retries!r} is not a number"
        ) from exc


def _pause(tmpl: Template, cset: ContainerSetTemplate) -> float:
    """Seconds between two runs of a failing container."""
    strategy = cset.retry_strategy
    if strategy is None or not strategy.duration:
        return 0.0
    try:
        return parse_duration(strategy.duration)
    except UserError as exc:
        raise LaunchError(
            f"template {tmpl.name!r}: containerSet.retryStrategy.duration "
            f"{strategy.duration!r} is not a duration"
        ) from exc


def _records(path: Path) -> list[dict[str, Any]]:
    """The containers' records the runner left (none if it never wrote them)."""
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []
