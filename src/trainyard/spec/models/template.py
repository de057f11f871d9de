"""Templates and what they are made of: steps, DAG tasks, loops, retries and hooks."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from trainyard.spec.models.base import ArgoModel, IntOrStr
from trainyard.spec.models.container import Container, ScriptTemplate
from trainyard.spec.models.containerset import ContainerSetTemplate
from trainyard.spec.models.data import DataTemplate
from trainyard.spec.models.http import HTTP
from trainyard.spec.models.io import Arguments, Inputs, Outputs


def _is_empty(value: str) -> bool:
    """Go's `omitempty` for a plain string: an empty name is left out of dumps."""
    return value == ""


class TemplateRef(ArgoModel):
    """A reference to a template inside a (Cluster)WorkflowTemplate."""

    name: str
    template: str
    cluster_scope: bool | None = None


class ContinueOn(ArgoModel):
    """Keep going after a step or task ends Failed and/or Errored."""

    error: bool | None = None
    failed: bool | None = None

    def allows(self, phase: str) -> bool:
        """Whether a node ending in `phase` lets its parent continue."""
        return (phase == "Failed" and bool(self.failed)) or (phase == "Error" and bool(self.error))


class Sequence(ArgoModel):
    """`withSequence`: numbers from start to end (or count of them), printf-formatted."""

    count: IntOrStr | None = None
    start: IntOrStr | None = None
    end: IntOrStr | None = None
    format: str | None = None


class LifecycleHook(ArgoModel):
    """A template run on an event of a step, task or workflow (`exit`, or an expression)."""

    template: str | None = None
    template_ref: TemplateRef | None = None
    arguments: Arguments | None = None
    expression: str | None = None


class _Invocation(ArgoModel):
    """The fields a workflow step and a DAG task share."""

    name: str = Field(default="", exclude_if=_is_empty)
    template: str | None = None
    template_ref: TemplateRef | None = None
    inline: Template | None = None
    arguments: Arguments | None = None
    when: str | None = None
    with_items: list[Any] | None = None
    with_param: str | None = None
    with_sequence: Sequence | None = None
    continue_on: ContinueOn | None = None
    on_exit: str | None = None
    hooks: dict[str, LifecycleHook] | None = None

    def loops(self) -> bool:
        """Whether this invocation expands into several nodes."""
        return (
            self.with_items is not None
            or self.with_param is not None
            or self.with_sequence is not None
        )

    def continues_on(self, phase: str) -> bool:
        """Whether ending in `phase` does not stop the parent."""
        return self.continue_on is not None and self.continue_on.allows(phase)

    def exit_hook(self) -> LifecycleHook | None:
        """The hook to run when this step/task ends: `hooks.exit`, else `onExit`."""
        if self.hooks and "exit" in self.hooks:
            return self.hooks["exit"]
        if self.on_exit:
            return LifecycleHook(template=self.on_exit)
        return None


class WorkflowStep(_Invocation):
    """One step of a `steps` template."""


class DAGTask(_Invocation):
    """One task of a `dag` template."""

    dependencies: list[str] | None = None
    depends: str | None = None


class DAGTemplate(ArgoModel):
    """A graph of tasks, run as their dependencies allow."""

    tasks: list[DAGTask] = Field(default_factory=list)
    target: str | None = None
    fail_fast: bool | None = None


class SuspendTemplate(ArgoModel):
    """Wait for a duration (or, without one, until resumed)."""

    duration: IntOrStr | None = None


class Backoff(ArgoModel):
    """Delay between retries: duration x factor^attempt, capped, within maxDuration."""

    duration: IntOrStr | None = None
    factor: IntOrStr | None = None
    max_duration: IntOrStr | None = None
    cap: IntOrStr | None = None


class RetryStrategy(ArgoModel):
    """How many times and on which outcomes a template is tried again."""

    limit: IntOrStr | None = None
    retry_policy: str | None = None
    backoff: Backoff | None = None
    expression: str | None = None
    affinity: dict[str, Any] | None = None


class Template(ArgoModel):
    """An Argo template: exactly one of container, script, steps, dag, suspend, ..."""

    name: str = Field(default="", exclude_if=_is_empty)
    inputs: Inputs | None = None
    outputs: Outputs | None = None
    container: Container | None = None
    script: ScriptTemplate | None = None
    steps: list[list[WorkflowStep]] | None = None
    dag: DAGTemplate | None = None
    suspend: SuspendTemplate | None = None
    resource: dict[str, Any] | None = None
    data: DataTemplate | None = None
    http: HTTP | None = None
    container_set: ContainerSetTemplate | None = None
    plugin: dict[str, Any] | None = None
    daemon: bool | None = None
    retry_strategy: RetryStrategy | None = None
    active_deadline_seconds: IntOrStr | None = None
    timeout: str | None = None
    parallelism: int | None = None
    fail_fast: bool | None = None
    volumes: list[dict[str, Any]] | None = None
    sidecars: list[dict[str, Any]] | None = None
    init_containers: list[dict[str, Any]] | None = None
    metadata: dict[str, Any] | None = None
    memoize: dict[str, Any] | None = None
    archive_location: dict[str, Any] | None = None
    synchronization: dict[str, Any] | None = None
    hooks: dict[str, LifecycleHook] | None = None

    def kind(self) -> str:
        """Which kind of template this is: container, script, steps, dag, suspend, ..."""
        for kind in (
            "container",
            "script",
            "steps",
            "dag",
            "suspend",
            "resource",
            "data",
            "http",
            "container_set",
            "plugin",
        ):
            if getattr(self, kind) is not None:
                return kind
        return "none"

    def is_pod(self) -> bool:
        """Whether this template runs a process (a pod on Kubernetes)."""
        return self.kind() in ("container", "script", "container_set", "resource", "data")

    def main_container(self) -> Container | None:
        """The container or script that runs, if any."""
        return self.script if self.script is not None else self.container


_Invocation.model_rebuild()
WorkflowStep.model_rebuild()
DAGTask.model_rebuild()
