"""containerSet templates: several containers of one pod, ordered by their dependencies."""

from __future__ import annotations

from trainyard.spec.models.base import ArgoModel, IntOrStr
from trainyard.spec.models.container import Container, VolumeMount

MAIN = "main"
"""The container whose exit code and stdout are the pod's (Argo's main container)."""


class ContainerNode(Container):
    """A container of a containerSet; it starts once every container it depends on succeeded."""

    dependencies: list[str] | None = None


class ContainerSetRetryStrategy(ArgoModel):
    """How often a failing container of the set is run again in place, and the pause between."""

    retries: IntOrStr | None = None
    duration: str | None = None


class ContainerSetTemplate(ArgoModel):
    """The containers of a containerSet, the mounts they all get, and their retry strategy."""

    containers: list[ContainerNode] = []
    volume_mounts: list[VolumeMount] | None = None
    retry_strategy: ContainerSetRetryStrategy | None = None

    def names(self) -> list[str]:
        """The containers' names, in the order they are declared."""
        return [c.name or "" for c in self.containers]

    def container(self, name: str) -> ContainerNode | None:
        """The container called `name`, if there is one."""
        return next((c for c in self.containers if c.name == name), None)

    def mounts_of(self, node: ContainerNode) -> list[VolumeMount]:
        """What `node` mounts: its own volumeMounts and the set's (as Argo gives each)."""
        return [*(node.volume_mounts or []), *(self.volume_mounts or [])]


__all__ = ["MAIN", "ContainerNode", "ContainerSetRetryStrategy", "ContainerSetTemplate"]
