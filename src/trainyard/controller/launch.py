"""Turn the engine's PodRequest into a StepLaunch: command, env, paths, inputs and outputs."""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainyard.artifacts.base import Repositories
from trainyard.controller.httpstep import http_launch
from trainyard.controller.repositories import with_stored_repository
from trainyard.controller.secrets import SecretSource
from trainyard.controller.sidecars import (
    readiness_probe,
    refuse_in_containers,
    side_containers,
    side_models,
)
from trainyard.controller.stepio import (
    archive_log,
    collect_outputs,
    is_archived,
    location_of,
    resolve_repositories,
    stage_inputs,
    with_key_only_inputs,
    write_script,
)
from trainyard.core.config import Config
from trainyard.core.errors import UserError
from trainyard.engine.actions import PodRequest
from trainyard.executors.base import ContainerSpec, Mount, PathMap, StepLaunch
from trainyard.scheduler import Request
from trainyard.spec.models import Container, ScriptTemplate, Template

SCRIPT_DIR = "/argo/staging"
SCRIPT_PATH = f"{SCRIPT_DIR}/script"
EXECUTORS = ("process", "container")
# Set by `trainyard run|submit --executor` (or the config's `executor:`) on the workflow.
EXECUTOR_ANNOTATION = "trainyard.io/executor"
ENGINE_ANNOTATION = "trainyard.io/container-engine"
ENGINE_ARGS_ANNOTATION = "trainyard.io/container-args"
# Argo's test image: without its binary on PATH, steps run trainyard's own implementation.
ARGOSAY_IMAGE = "argoproj/argosay"
ARGOSAY_MODULE = "trainyard.executors.argosay"


class LaunchError(UserError):
    """The pod cannot be run locally as written (no command, unknown volume, ...)."""


@dataclass(frozen=True)
class StepKey:
    """Where a step's files live: `<workflow uid>/<node id>`."""

    workflow_uid: str
    node_id: str

    def __str__(self) -> str:
        return f"{self.workflow_uid}/{self.node_id}"

    @classmethod
    def parse(cls, key: str) -> StepKey:
        """The StepKey written as `key`."""
        uid, _, nid = key.partition("/")
        return cls(uid, nid)


def build_launch(
    pod: PodRequest,
    repositories: Repositories,
    secrets: SecretSource,
    volumes_dir: Path,
    bind_inputs: bool = True,
    base_env: dict[str, str] | None = None,
    gpus: tuple[int, ...] | None = None,
) -> StepLaunch:
    """Everything the executor needs to run `pod` as a host process.

    With `bind_inputs`, unarchived input artifacts of the local repository are shown to
    the step read-only where they are stored: no copy, however large they are.
    """
    tmpl = pod.template
    if tmpl.http is not None:
        env = dict(os.environ if base_env is None else base_env)
        env.update(_argo_env(pod))
        key = str(StepKey(pod.workflow_uid, pod.node_id))
        return http_launch(pod, secrets, key, env, ENGINE_PATHS)
    pod = with_stored_repository(pod, secrets.store)
    tmpl, keyed = with_key_only_inputs(pod.template, pod, repositories)
    main = tmpl.main_container()
    if main is None:
        raise LaunchError(f"template {tmpl.name!r} has no container or script to run")
    container = _container_spec(pod, main, gpus)
    if container is not None:
        refuse_in_containers(tmpl)
    command = _command(tmpl, main, container)
    resolve_repositories(tmpl, pod, repositories)
    bound = _bound_inputs(tmpl, repositories) if bind_inputs else []
    bound = [(name, mount) for name, mount in bound if name not in keyed]
    bound_names = {name for name, _ in bound}
    private = [p for p in _private_paths(tmpl) if p not in {m.target for _, m in bound}]
    mounts = [*_mounts(pod, main, volumes_dir, secrets), *(m for _, m in bound)]
    for side in side_models(tmpl):
        taken = {m.target for m in mounts}
        mounts += [m for m in _mounts(pod, side, volumes_dir, secrets) if m.target not in taken]
    mounts += ENGINE_PATHS if container is None else []
    # A container gets only the step's variables, never the host's.
    env = {} if container is not None else dict(os.environ if base_env is None else base_env)
    env.update(_argo_env(pod))
    if gpus is not None and container is None:
        # Like a pod: a step sees the GPUs it was given, and a step given none sees none.
        visible = ",".join(str(g) for g in gpus)
        env["CUDA_VISIBLE_DEVICES"] = visible
        env["NVIDIA_VISIBLE_DEVICES"] = visible or "void"
    common_env = dict(env)
    env.update(secrets.container_env(pod.namespace, main))
    script = main.source if isinstance(main, ScriptTemplate) else None

    def env_of(side: Container) -> dict[str, str]:
        return secrets.container_env(pod.namespace, side)

    def command_of(side: Container) -> list[str]:
        return _command(tmpl, side, None)

    def prepare(paths: PathMap) -> None:
        if script is not None:
            write_script(paths.host(SCRIPT_PATH), script)
        stage_inputs(tmpl, paths, repositories, bound_names)

    def collect(paths: PathMap, exit_code: int) -> dict[str, Any]:
        return collect_outputs(tmpl, pod, paths, exit_code, repositories)

    def keep_log(log: Path) -> dict[str, Any]:
        return archive_log(log, pod, repositories)

    # Argo: the repository's archiveLogs wins when on, else the template's, else the workflow's.
    keeps_log = repositories.archive_logs(pod.artifact_repository_ref) or bool(pod.archive_logs)

    return StepLaunch(
        key=str(StepKey(pod.workflow_uid, pod.node_id)),
        command=command,
        env=env,
        # Without one, the image's WORKDIR applies in a container; a host process starts in
        # `/` (most images' WORKDIR) when sandboxed, where what it creates is its own, else
        # in its own temporary directory: never in the directory trainyard was started from.
        working_dir=main.working_dir,
        mounts=mounts,
        private_paths=private,
        deadline_seconds=pod.deadline_seconds,
        prepare=prepare,
        collect=collect,
        archive_log=keep_log if keeps_log else None,
        container=container,
        init_containers=side_containers(
            pod, tmpl.init_containers, "init container", common_env, env_of, command_of
        ),
        sidecars=side_containers(pod, tmpl.sidecars, "sidecar", common_env, env_of, command_of),
        daemon=bool(tmpl.daemon),
        readiness=readiness_probe(main) if tmpl.daemon else None,
    )


def executor_annotations(choice: str | None, config: Config) -> dict[str, str]:
    """The annotations that make a workflow's steps run as `choice` (else the config's)."""
    executor = choice or config.executor
    if executor is None:
        return {}
    if executor not in EXECUTORS:
        raise LaunchError(f"--executor {executor!r}: use one of {', '.join(EXECUTORS)}")
    if executor == "process":
        return {EXECUTOR_ANNOTATION: executor}
    return {
        EXECUTOR_ANNOTATION: executor,
        ENGINE_ANNOTATION: config.container.engine,
        ENGINE_ARGS_ANNOTATION: json.dumps(config.container.extra_args),
    }


def _container_spec(
    pod: PodRequest, main: Container, gpus: tuple[int, ...] | None
) -> ContainerSpec | None:
    """How to run `pod` in a container, or None when it runs as a host process."""
    if pod.annotations.get(EXECUTOR_ANNOTATION) != "container":
        return None
    if not main.image:
        raise LaunchError(
            f"template {pod.template.name!r} has no `image`: the container executor needs one"
        )
    try:
        extra = json.loads(pod.annotations.get(ENGINE_ARGS_ANNOTATION) or "[]")
    except ValueError:
        extra = None
    if not isinstance(extra, list):
        raise LaunchError(f"annotation {ENGINE_ARGS_ANNOTATION} must be a JSON list of strings")
    limits = main.resources.limits if main.resources is not None else None
    request = Request.from_kubernetes(None, limits)
    return ContainerSpec(
        image=main.image,
        name=container_name(pod.pod_name, pod.workflow_uid),
        entrypoint=not main.command,
        engine=pod.annotations.get(ENGINE_ANNOTATION) or "podman",
        extra_args=tuple(str(arg) for arg in extra),
        cpus=request.cpu or None,
        memory=request.memory or None,
        gpus=gpus or (),
    )


def _engine_paths() -> list[Mount]:
    """The engine's own Python (its environment, its editable installs) where a step's
    private /tmp would hide them: steps that run `python3` from that environment need them."""
    under_tmp = {
        os.path.realpath(entry)
        for entry in (sys.prefix, *sys.path)
        if entry and os.path.realpath(entry).startswith("/tmp/") and os.path.isdir(entry)
    }
    outermost = [p for p in under_tmp if not any(p.startswith(q + "/") for q in under_tmp)]
    return [Mount(path, Path(path), read_only=True) for path in sorted(outermost)]


ENGINE_PATHS = _engine_paths()


def _bound_inputs(tmpl: Template, repositories: Repositories) -> list[tuple[str, Mount]]:
    """Input artifacts kept as-is on this machine: (name, read-only mount of where they are)."""
    out = []
    for art in tmpl.inputs.artifacts if tmpl.inputs else []:
        location = location_of(art)
        if not art.path or location is None or is_archived(art) or art.mode is not None:
            continue
        if art.sub_path:  # staged: only part of it is shown
            continue
        source = repositories.for_location(location).local_path(location)
        if source is not None and source.exists():
            out.append((art.name, Mount(art.path, source, read_only=True)))
    return out


def _command(tmpl: Template, main: Container, container: ContainerSpec | None) -> list[str]:
    command = list(main.command or [])
    if isinstance(main, ScriptTemplate):
        if not command:
            raise LaunchError(
                f"script template {tmpl.name!r} has no command: add e.g. `command: [python3]`"
            )
        return [*command, *(main.args or []), SCRIPT_PATH]
    if container is not None:
        return [*command, *(main.args or [])]  # no command: the image's entrypoint runs
    if _is_argosay(main.image):
        return _argosay_command(command, list(main.args or []))
    if not command:
        image = main.image or "?"
        raise LaunchError(
            f"template {tmpl.name!r} has no `command`: the local engine runs host processes "
            f"and cannot use the entrypoint of image {image!r}; add `command:` to the container"
        )
    return [*command, *(main.args or [])]


def container_name(pod_name: str, workflow_uid: str) -> str:
    """The container's name, made of the pod's: unique per workflow and valid for engines."""
    safe = "".join(c if c.isalnum() or c in "_.-" else "-" for c in pod_name)
    return f"trainyard-{safe}-{workflow_uid[:8]}"


def _is_argosay(image: str | None) -> bool:
    """Whether `image` is Argo's test image (any registry, any tag)."""
    name = (image or "").split("@")[0].rsplit(":", 1)[0]
    return name == ARGOSAY_IMAGE or name.endswith("/" + ARGOSAY_IMAGE)


def _argosay_command(command: list[str], args: list[str]) -> list[str]:
    """The image's `argosay` entrypoint, or trainyard's own when it is not on PATH."""
    if command and os.path.basename(command[0]) != "argosay":
        return [*command, *args]  # e.g. `command: [sh, -c]`: run as written
    rest = [*command[1:], *args]
    if shutil.which("argosay") is not None:
        return ["argosay", *rest]
    return [sys.executable, "-m", ARGOSAY_MODULE, *rest]


def _private_paths(tmpl: Template) -> list[str]:
    paths: list[str] = []
    if tmpl.script is not None:
        paths.append(SCRIPT_DIR)
    for art in tmpl.inputs.artifacts if tmpl.inputs else []:
        if art.path:
            paths.append(art.path)
    outputs = tmpl.outputs
    for art in outputs.artifacts if outputs else []:
        if art.path:
            paths.append(art.path)
    for param in outputs.parameters if outputs else []:
        if param.value_from is not None and param.value_from.path:
            paths.append(param.value_from.path)
    return sorted(set(paths))


def _mounts(
    pod: PodRequest, main: Container, volumes_dir: Path, secrets: SecretSource
) -> list[Mount]:
    by_name: dict[str, dict[str, Any]] = {str(v.get("name")): dict(v) for v in pod.volumes}
    mounts: list[Mount] = []
    for vm in main.volume_mounts or []:
        volume = by_name.get(vm.name)
        if volume is not None and ("configMap" in volume or "secret" in volume):
            source = _key_files(pod, vm.name, volume, volumes_dir, secrets)
            mounts.append(
                Mount(vm.mount_path, source / vm.sub_path if vm.sub_path else source, True)
            )
            continue
        source = _volume_source(pod, vm.name, volume, volumes_dir)
        if vm.sub_path:
            source = source / vm.sub_path
            source.mkdir(parents=True, exist_ok=True)
        mounts.append(Mount(vm.mount_path, source, bool(vm.read_only)))
    return mounts


def _volume_source(
    pod: PodRequest, name: str, volume: dict[str, Any] | None, volumes_dir: Path
) -> Path:
    """The host directory behind a volume, created on first use."""
    if volume is None:
        # a volumeClaimTemplate of the workflow: shared by all its steps
        path = volumes_dir / "workflows" / pod.workflow_uid / name
    elif "emptyDir" in volume:
        path = volumes_dir / "pods" / pod.workflow_uid / pod.node_id / name
    elif "persistentVolumeClaim" in volume:
        claim = str(volume["persistentVolumeClaim"].get("claimName", name))
        path = volumes_dir / "claims" / pod.namespace / claim
    elif "hostPath" in volume:
        return Path(str(volume["hostPath"].get("path", "")))
    else:
        kinds = ", ".join(k for k in volume if k != "name") or "nothing"
        raise LaunchError(
            f"volume {name!r} is of a kind the local engine does not provide ({kinds}); "
            "use emptyDir, persistentVolumeClaim, hostPath or volumeClaimTemplates"
        )
    path.mkdir(parents=True, exist_ok=True)
    return path


def _key_files(
    pod: PodRequest, name: str, volume: dict[str, Any], volumes_dir: Path, secrets: SecretSource
) -> Path:
    """A configMap or secret volume as Kubernetes makes it: a file per key (or per `items`
    entry), read-only; a secret's files readable by their owner only."""
    kind, spec = (
        ("ConfigMap", volume["configMap"])
        if "configMap" in volume
        else ("Secret", volume["secret"])
    )
    spec = dict(spec or {})
    source = str(spec.get("name") or spec.get("secretName") or "")
    values = secrets.data(kind, pod.namespace, source, bool(spec.get("optional"))) or {}
    items = spec.get("items") or [{"key": key, "path": key} for key in sorted(values)]
    folder = volumes_dir / "pods" / pod.workflow_uid / pod.node_id / name
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    for item in items:
        key, relative = str(item.get("key")), str(item.get("path") or item.get("key"))
        if key not in values:
            raise LaunchError(f"volume {name!r}: {kind} {source!r} has no key {key!r}")
        target = (folder / relative).resolve()
        if not target.is_relative_to(folder.resolve()):
            raise LaunchError(f"volume {name!r}: item path {relative!r} leaves the volume")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(values[key])
        target.chmod(0o600 if kind == "Secret" else 0o644)
    return folder


def _argo_env(pod: PodRequest) -> dict[str, str]:
    """The environment variables Argo's executor gives the main container."""
    deadline = "0001-01-01T00:00:00Z"
    return {
        "ARGO_POD_NAME": pod.pod_name,
        "ARGO_POD_UID": pod.node_id,
        "ARGO_CONTAINER_NAME": "main",
        "ARGO_TEMPLATE": json.dumps(pod.template.dump(), separators=(",", ":")),
        "ARGO_NODE_ID": pod.node_id,
        "ARGO_INCLUDE_SCRIPT_OUTPUT": "true",
        "ARGO_DEADLINE": deadline,
        "ARGO_PROGRESS_FILE": "/var/run/argo/progress",
        "ARGO_WORKFLOW_NAME": pod.workflow_name,
        "ARGO_WORKFLOW_UID": pod.workflow_uid,
        "ARGO_NAMESPACE": pod.namespace,
        **pod.env,
    }
