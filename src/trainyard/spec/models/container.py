"""Containers and scripts: the command a pod-like step runs, with env and mounts."""

from __future__ import annotations

from typing import Any

from trainyard.spec.models.base import ArgoModel
from trainyard.spec.models.io import KeyRef


class EnvVarSource(ArgoModel):
    """Where an environment variable's value comes from."""

    secret_key_ref: KeyRef | None = None
    config_map_key_ref: KeyRef | None = None
    field_ref: dict[str, Any] | None = None


class EnvVar(ArgoModel):
    """One environment variable of a container."""

    name: str
    value: str | None = None
    value_from: EnvVarSource | None = None


class VolumeMount(ArgoModel):
    """A volume mounted into a container at `mountPath`."""

    name: str
    mount_path: str
    sub_path: str | None = None
    read_only: bool | None = None


class ResourceRequirements(ArgoModel):
    """Kubernetes resource requests and limits (`nvidia.com/gpu`, `cpu`, `memory`)."""

    requests: dict[str, Any] | None = None
    limits: dict[str, Any] | None = None


class Container(ArgoModel):
    """A container: image (recorded locally), command, args, env, working directory, mounts."""

    name: str | None = None
    image: str | None = None
    command: list[str] | None = None
    args: list[str] | None = None
    env: list[EnvVar] | None = None
    working_dir: str | None = None
    volume_mounts: list[VolumeMount] | None = None
    resources: ResourceRequirements | None = None


class ScriptTemplate(Container):
    """A container whose `source` is written to a file and run with `command`."""

    source: str = ""


def merged_env(container: Container) -> dict[str, EnvVar]:
    """The container's env by name (later entries win, as Kubernetes does)."""
    return {e.name: e for e in container.env or []}


__all__ = [
    "Container",
    "EnvVar",
    "EnvVarSource",
    "ResourceRequirements",
    "ScriptTemplate",
    "VolumeMount",
    "merged_env",
]
